import type { FailureEntry } from './failure-log.js';

/** Records set aside since the last flush, by outcome; `read` is their sum. */
export interface AsideCounts {
  read: number;
  skipped: number;
  failed: number;
}

/**
 * Records read that never reach the writer (skipped by --resume, or failed in the reader), kept
 * with the failures to record for them until a batch commits past their lines. Bounded like a
 * batch: once it holds `maxFailures` failures, or `maxBytes` of their text, it is `full` and must be
 * flushed even with no record to write, or an input where every line fails would be held whole.
 * Skips hold nothing but a count: flushing for them would only add commits (fsyncs with --durable).
 */
export class AsideRecords {
  private counts: AsideCounts = { read: 0, skipped: 0, failed: 0 };
  private failures: FailureEntry[] = [];
  private bytes = 0;

  constructor(
    private readonly maxFailures: number,
    private readonly maxBytes: number,
  ) {}

  /** `bytes`: the size of the text the failure keeps (its raw line, or what its record was parsed from). */
  add(outcome: 'skipped' | 'failed', failure?: FailureEntry, bytes = 0): void {
    this.counts.read++;
    this.counts[outcome]++;
    if (!failure) return;
    this.failures.push(failure);
    this.bytes += bytes;
  }

  /** `count` records skipped at once (a committed prefix that was not read again). */
  skip(count: number): void {
    this.counts.read += count;
    this.counts.skipped += count;
  }

  get empty(): boolean {
    return this.counts.read === 0;
  }

  get full(): boolean {
    return this.failures.length >= this.maxFailures || this.bytes >= this.maxBytes;
  }

  /** Everything held, for the batch that flushes it; this starts empty again. */
  take(): { counts: AsideCounts; failures: FailureEntry[]; bytes: number } {
    const taken = { counts: this.counts, failures: this.failures, bytes: this.bytes };
    this.counts = { read: 0, skipped: 0, failed: 0 };
    this.failures = [];
    this.bytes = 0;
    return taken;
  }
}
