/** Upper bounds, in seconds, of the Prometheus buckets: local disks, from 0.1 ms to 10 s. */
export const PROMETHEUS_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// Fine log-scale buckets for quantiles: each 2^(1/16) (~4.4 %) wider than the last, from 1 µs.
const STEPS_PER_DOUBLING = 16;
const MIN_MS = 0.001;
const FINE_BUCKETS = STEPS_PER_DOUBLING * 34;

/**
 * Write latencies in constant memory: fine buckets for p50/p95/p99 (within ~4 %), and the
 * cumulative Prometheus buckets. Counts every write, failed ones too.
 */
export class LatencyHistogram {
  private readonly fine = new Uint32Array(FINE_BUCKETS + 1);
  private readonly coarse = new Float64Array(PROMETHEUS_BUCKETS_SECONDS.length);
  count = 0;
  sumMs = 0;
  maxMs = 0;

  record(ms: number): void {
    const value = ms > 0 ? ms : 0;
    this.count++;
    this.sumMs += value;
    if (value > this.maxMs) this.maxMs = value;
    const index = value <= MIN_MS ? 0 : Math.min(FINE_BUCKETS, Math.ceil(Math.log2(value / MIN_MS) * STEPS_PER_DOUBLING));
    this.fine[index]!++;
    const seconds = value / 1000;
    for (let i = 0; i < PROMETHEUS_BUCKETS_SECONDS.length; i++) {
      if (seconds <= PROMETHEUS_BUCKETS_SECONDS[i]!) {
        this.coarse[i]!++;
        break;
      }
    }
  }

  /** The q-quantile in ms (upper edge of its bucket, at most the largest value seen); null when empty. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i <= FINE_BUCKETS; i++) {
      seen += this.fine[i]!;
      if (seen >= rank) return Math.min(this.maxMs, MIN_MS * 2 ** (i / STEPS_PER_DOUBLING));
    }
    return this.maxMs;
  }

  /** Cumulative counts per Prometheus bucket (`le`), ending with +Inf. */
  cumulativeBuckets(): { le: string; count: number }[] {
    let running = 0;
    const buckets = PROMETHEUS_BUCKETS_SECONDS.map((le, i) => {
      running += this.coarse[i]!;
      return { le: String(le), count: running };
    });
    buckets.push({ le: '+Inf', count: this.count });
    return buckets;
  }
}
