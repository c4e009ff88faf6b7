// report.html for a backtest (its run, data and audit records) or a live run (its summary and
// audit records): see report/data.ts for what is drawn and report/page.ts for the page.
import { writeFileSync } from 'node:fs';

import type { MarketSeries } from '../backtest/series';
import type { AgentBacktestRun } from './run-backtest';
import { readToolRecords } from './report/audit-records';
import { backtestReportData, liveReportData, type LiveReportSummary, type ReportLimits } from './report/data';
import { renderReportPage } from './report/page';

export { auditFileOffset, readToolRecords, type ToolAuditRecord } from './report/audit-records';
export { backtestReportData, liveReportData, MAX_POINTS, type ReportData, type ReportLimits, type LiveReportSummary } from './report/data';
export { embedJson, escapeHtml, renderReportPage } from './report/page';

/** Where a run's records are: the audit file and the byte offset it had before the run. */
export interface AuditSlice {
  path: string;
  offset: number;
}

export function writeBacktestReport(path: string, run: AgentBacktestRun, data: MarketSeries, audit: AuditSlice, limits: ReportLimits = {}): void {
  writeFileSync(path, renderReportPage(backtestReportData(run, data, readToolRecords(audit.path, audit.offset), limits)));
}

export function writeLiveReport(path: string, summary: LiveReportSummary, audit: AuditSlice, limits: ReportLimits = {}): void {
  writeFileSync(path, renderReportPage(liveReportData(summary, readToolRecords(audit.path, audit.offset), limits)));
}
