// Types of soak.mjs, for the test that runs the soak's 60-second form.

export interface SoakOptions {
  seconds: number;
  seed: number;
  importers: number;
  inputs: number;
  /** Lines appended per second, over all inputs. */
  linesPerSecond: number;
  /** BWRITE_FAULTS for the importers. */
  faults: string;
  /** Shares of importer runs that get kill -9 / SIGTERM. */
  killRate: number;
  termRate: number;
  /** Keep the temp dir (store/, inputs/) and name it in the summary. */
  keep: boolean;
  /** The bin/bwrite to run. */
  bwrite: string;
  log: ((text: string) => void) | null;
  /** Aborting it ends the soak before its deadline; the checks still run. */
  signal: AbortSignal | null;
}

export interface SoakCheck {
  id: 'last-occurrence' | 'failed-once' | 'nothing-lost' | 'export' | 'verify' | 'rss' | 'exits';
  name: string;
  ok: boolean;
  /** One sentence per problem found, naming the key, line and failures files involved. */
  problems: string[];
}

export type ImportStatus = 'ok' | 'partial' | 'aborted' | 'interrupted' | 'killed';

export interface SoakSummary {
  ok: boolean;
  seed: number;
  seconds: number;
  elapsedSeconds: number;
  stoppedEarly: boolean;
  importers: number;
  inputs: number;
  faults: string;
  runs: { started: number } & Record<ImportStatus, number>;
  recordsAppended: number;
  badLines: number;
  /** The sum of `written` over the --json summaries printed. */
  recordsCommitted: number;
  kills: number;
  sigterms: number;
  lateSignals: number;
  retries: number;
  failuresFiles: number;
  failedByCode: Record<string, number>;
  gcRuns: number;
  statsRuns: number;
  /** Per command (import, gc, stats, export, verify): the highest peak RSS seen, in MB. */
  maxRssMb: Record<string, number>;
  lost: number;
  checks: SoakCheck[];
  dir: string | null;
}

export const DEFAULT_FAULTS: string;
export const DEFAULTS: SoakOptions;
export function runSoak(options?: Partial<SoakOptions>): Promise<SoakSummary>;
export function formatSummary(summary: SoakSummary): string;
export function summaryJson(summary: SoakSummary): string;
