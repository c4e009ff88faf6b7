// Problems found in a market-data file, each with its file and line: `btc.csv:123: high 100 < low 101`.

export interface DataIssue {
  source: string;
  /** 1-based line in the source file (for generated columns: 1-based row). */
  line: number;
  message: string;
}

/** How many issues a `MarketDataError` keeps (the message shows the first `SHOWN`). */
const KEPT = 1000;
const SHOWN = 10;

/** Thrown by the loaders before any replay starts: the file has at least one bad row. */
export class MarketDataError extends Error {
  readonly issues: readonly DataIssue[];
  /** Issues found, including any beyond the kept ones. */
  readonly issueCount: number;

  constructor(issues: readonly DataIssue[], issueCount = issues.length) {
    const shown = issues.slice(0, SHOWN).map(formatIssue);
    const more = issueCount > shown.length ? `\n(and ${issueCount - shown.length} more)` : '';
    super(`${shown.join('\n')}${more}`);
    this.name = 'MarketDataError';
    this.issues = issues;
    this.issueCount = issueCount;
  }
}

export function formatIssue(issue: DataIssue): string {
  return `${issue.source}:${issue.line}: ${issue.message}`;
}

/** Collects issues while parsing; `throwIfAny()` ends the load with every problem found. */
export class IssueList {
  private readonly issues: DataIssue[] = [];
  private count = 0;

  constructor(readonly source: string) {}

  add(line: number, message: string): void {
    this.count += 1;
    if (this.issues.length < KEPT) this.issues.push({ source: this.source, line, message });
  }

  get size(): number {
    return this.count;
  }

  throwIfAny(): void {
    if (this.count > 0) throw new MarketDataError(this.issues, this.count);
  }
}
