/**
 * How batches that are ready at once may share one transaction: a group closes at `rows` rows or
 * `bytes` bytes of values, and a ready batch waits at most `waitMs` for later ones to join it.
 * The reader may hold `ahead` groups uncommitted (1 unless said): 2 where a COMMIT leaves the
 * main thread free, so that the next group fills while one commits.
 */
export interface GroupLimits {
  rows: number;
  bytes: number;
  waitMs: number;
  ahead?: number;
}

/** A batch in the queue: what its commit needs, once it is ready. */
interface Entry<T, R> {
  seq: number;
  value: T | null;
  rows: number;
  bytes: number;
  readyAt: number;
  /** The batch will not commit (it could not be taken in): its outcome rejects with this, in its turn. */
  error: unknown;
  resolve: (outcome: R) => void;
  reject: (error: unknown) => void;
}

/**
 * The writer's commit queue: batches commit in the order they were queued, each once it is ready.
 * Without limits, one at a time as soon as the oldest is ready. With limits, the oldest ready
 * batches commit together (`commitGroup` gets them in order, and returns one outcome each), once
 * they reach the limits, the oldest has waited `waitMs`, or `flush` asked for them: fewer
 * transactions, each touching an index page once for many rows.
 */
export class CommitQueue<T, R> {
  private readonly entries: Entry<T, R>[] = [];
  private lastSeq = 0;
  /** Batches queued up to this one commit as soon as they are ready, without waiting for others. */
  private flushedSeq = 0;
  private committing = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly commitGroup: (group: T[]) => Promise<R[]>,
    private readonly limits: GroupLimits | null,
  ) {}

  /** Takes a place in the queue; `ready` gives it what it commits, and the promise its outcome. */
  enqueue(): { ready: (value: T, rows: number, bytes: number) => void; fail: (error: unknown) => void; outcome: Promise<R> } {
    let resolve!: (outcome: R) => void;
    let reject!: (error: unknown) => void;
    const outcome = new Promise<R>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: Entry<T, R> = { seq: ++this.lastSeq, value: null, rows: 0, bytes: 0, readyAt: 0, error: null, resolve, reject };
    this.entries.push(entry);
    const ready = (value: T, rows: number, bytes: number) => {
      Object.assign(entry, { value, rows, bytes, readyAt: Date.now() });
      this.pump();
    };
    const fail = (error: unknown) => {
      entry.error = error ?? new Error('batch not taken in');
      this.pump();
    };
    return { ready, fail, outcome };
  }

  /** Every batch queued so far commits as soon as it is ready: its submitter waits for it. */
  flush(): void {
    this.flushedSeq = this.lastSeq;
    this.pump();
  }

  private pump(): void {
    if (this.committing) return;
    while (this.entries[0]?.error) {
      const failed = this.entries.shift()!;
      failed.reject(failed.error);
    }
    const group = this.readyGroup();
    if (group.length === 0) return;
    const wait = this.waitLeft(group);
    if (wait > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.pump();
      }, wait);
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.committing = true;
    this.entries.splice(0, group.length);
    void this.commit(group);
  }

  private async commit(group: Entry<T, R>[]): Promise<void> {
    try {
      const outcomes = await this.commitGroup(group.map((entry) => entry.value!));
      group.forEach((entry, i) => entry.resolve(outcomes[i]!));
    } catch (error) {
      for (const entry of group) entry.reject(error);
    } finally {
      this.committing = false;
      this.pump();
    }
  }

  /** The oldest ready batches, as many as the limits let share a transaction (at least one). */
  private readyGroup(): Entry<T, R>[] {
    const group: Entry<T, R>[] = [];
    let rows = 0;
    let bytes = 0;
    for (const entry of this.entries) {
      if (entry.value === null || entry.error) break;
      if (group.length > 0 && (!this.limits || rows + entry.rows > this.limits.rows || bytes + entry.bytes > this.limits.bytes)) break;
      group.push(entry);
      rows += entry.rows;
      bytes += entry.bytes;
    }
    return group;
  }

  /** How long the group should still wait for later batches to join it: 0 to commit it now. */
  private waitLeft(group: Entry<T, R>[]): number {
    const { limits } = this;
    if (!limits) return 0;
    const last = group[group.length - 1]!;
    if (last.seq <= this.flushedSeq) return 0;
    // A later batch that is ready but did not fit: the group is full.
    if (this.entries.length > group.length && this.entries[group.length]!.value !== null) return 0;
    const rows = group.reduce((sum, entry) => sum + entry.rows, 0);
    const bytes = group.reduce((sum, entry) => sum + entry.bytes, 0);
    if (rows >= limits.rows || bytes >= limits.bytes) return 0;
    return Math.max(0, group[0]!.readyAt + limits.waitMs - Date.now());
  }
}
