/** Shorter lines get a buffer of their own (Node pools those under 4 KiB). */
export const POOLED_MIN_BYTES = 16 * 1024;
/** Enough for what an import holds at once with the default options: 4 outstanding batches of at most 16 MiB, and a chunk of lines read ahead. */
const DEFAULT_MAX_FREE_BYTES = 96 * 1024 * 1024;

/** Read buffers kept for use again, at most (more are left to the garbage collector). */
const MAX_FREE_CHUNKS = 16;

/**
 * The memory lines live in until their records are written, used again after that: on this kind
 * of VM a fresh page costs a fault.
 *
 * - Read buffers (`readBuffer`): a plain file is read into them, and an NDJSON record that lies
 *   inside one read is a view of it, lent out (`lend`), not a copy: no allocating and copying
 *   each line.
 * - Line buffers (`take`), for lines copied out of the reads: long ones come from size classes
 *   kept here, so large values are not copied into fresh memory, which costs both time and peak
 *   RSS (figures in bench/PERFORMANCE.md, Measured design choices).
 *
 * Memory comes back only through `release`, which the import run calls for a batch's values once
 * the writer is done with the batch (committed or not), and at once for records it skips. What is
 * never released is left to the garbage collector, so a missed release costs speed, never
 * correctness; releasing twice, or what this pool did not lend, does nothing.
 */
export class LineBuffers {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private readonly lent = new WeakSet<ArrayBuffer>();
  private freeBytes = 0;
  private readonly maxFreeBytes: number;
  private readonly freeChunks: Buffer[] = [];
  private readonly chunks = new WeakMap<ArrayBuffer, ChunkState>();
  private readonly lentViews = new WeakSet<Uint8Array>();

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

  /**
   * A buffer of `size` bytes to read a chunk of input into. Records that are views of it (see
   * `lend`) keep it from being used again until each is given back, and so does the reader until
   * it calls `doneReading`.
   */
  readBuffer(size: number): Buffer {
    const kept = this.freeChunks.pop();
    const chunk = kept && kept.length === size ? kept : Buffer.allocUnsafeSlow(size);
    this.chunks.set(chunk.buffer as ArrayBuffer, { chunk, reading: true, views: 0 });
    return chunk;
  }

  /** Whether `bytes` lie in a read buffer of this pool that is not free again yet. */
  isReadBuffer(bytes: Uint8Array): boolean {
    return this.chunks.has(bytes.buffer as ArrayBuffer);
  }

  /** The reader is past the chunk read into `chunk`. */
  doneReading(chunk: Buffer): void {
    const state = this.chunks.get(chunk.buffer as ArrayBuffer);
    if (!state?.reading) return;
    state.reading = false;
    if (state.views === 0) this.reuse(state);
  }

  /** `view` (a record's value) is handed out; if it lies in a read buffer, that buffer waits for it to come back. */
  lend(view: Buffer): void {
    const state = this.chunks.get(view.buffer as ArrayBuffer);
    if (!state || this.lentViews.has(view)) return;
    this.lentViews.add(view);
    state.views++;
  }

  /** Gives back the buffer `bytes` lie in, if this pool lent it; `bytes` must not be used after. */
  release(bytes: string | Uint8Array): void {
    if (typeof bytes === 'string') return;
    const state = this.chunks.get(bytes.buffer as ArrayBuffer);
    if (state) {
      if (this.lentViews.delete(bytes) && --state.views === 0 && !state.reading) this.reuse(state);
      return;
    }
    const memory = bytes.buffer as ArrayBuffer;
    if (!this.lent.delete(memory)) return;
    if (this.freeBytes + memory.byteLength > this.maxFreeBytes) return;
    let list = this.free.get(memory.byteLength);
    if (!list) this.free.set(memory.byteLength, (list = []));
    list.push(memory);
    this.freeBytes += memory.byteLength;
  }

  private reuse(state: ChunkState): void {
    this.chunks.delete(state.chunk.buffer as ArrayBuffer);
    if (this.freeChunks.length < MAX_FREE_CHUNKS) this.freeChunks.push(state.chunk);
  }
}

interface ChunkState {
  chunk: Buffer;
  /** The reader has not moved past it yet. */
  reading: boolean;
  /** Records lent out that are views of it. */
  views: number;
}

/** `size` rounded up to one of 8 steps per power of two: at most 12.5 % unused. */
export function sizeClass(size: number): number {
  const step = 2 ** Math.max(0, Math.floor(Math.log2(size)) - 3);
  return Math.ceil(size / step) * step;
}
