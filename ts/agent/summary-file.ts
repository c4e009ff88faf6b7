// The summary JSON a run writes at its end (backtest `summary_json`, live `[agent] summary_json`):
// one place that scrubs it of the process's secrets before it reaches the disk. The text is
// scrubbed after serializing (the scrubber's replacement keeps JSON valid), so a secret in any
// field, key or nested value is caught.
import { writeFileSync } from 'node:fs';

import { scrubSecrets } from '../secrets';

/** `summary` as pretty JSON, scrubbed of every secret the process holds. */
export function summaryJson(summary: unknown): string {
  return `${scrubSecrets(JSON.stringify(summary, null, 2))}\n`;
}

/** Write `summary` to `path` as pretty JSON, scrubbed. */
export function writeSummaryJson(path: string, summary: unknown): void {
  writeFileSync(path, summaryJson(summary));
}
