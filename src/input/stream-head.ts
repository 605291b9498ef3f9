import { sha256Hex } from '../sha256.js';

/** What a watermark records to recognise its input again: SHA-256 of the first `fingerprintLen` bytes. */
export interface HeadFingerprint {
  fingerprint: string;
  fingerprintLen: number;
}

/**
 * The first bytes of a stream that cannot be read twice (standard input), kept as they pass on
 * to the reader. A watermark records a fingerprint of them, and `--resume` reads ahead to compare
 * before any record is read; without that request nothing waits, so `tail -f log | bwrite import -`
 * still commits a record as soon as it comes.
 */
export class StreamHead {
  private readonly kept: Buffer;
  private length = 0;
  /** Chunks read ahead of the reader, handed out first. */
  private readonly ahead: Buffer[] = [];
  private ended = false;
  private failure: { error: unknown } | null = null;
  private filling: Promise<unknown> = Promise.resolve();
  private cached: HeadFingerprint | null = null;
  private readonly source: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>, limit: number) {
    this.source = source[Symbol.asyncIterator]();
    this.kept = Buffer.alloc(limit);
  }

  /** The stream's bytes for the reader, chunk by chunk as they came, those read ahead first. */
  async *chunks(): AsyncGenerator<Buffer> {
    // A read ahead abandoned by a signal may still be waiting: its chunk comes first.
    await this.filling;
    for (;;) {
      const chunk = this.ahead.shift();
      if (chunk) {
        yield chunk;
        continue;
      }
      if (this.failure) throw this.failure.error;
      if (this.ended) return;
      const next = await this.source.next();
      if (next.done) return;
      this.keep(next.value);
      yield next.value;
    }
  }

  /**
   * The first `length` bytes (fewer when the stream ends sooner), read ahead of the reader as far
   * as needed; null when `signal` aborts first. A read error waits for the reader, after the chunks
   * read before it.
   */
  read(length: number, signal?: AbortSignal): Promise<Buffer | null> {
    const filled = this.fill(Math.min(length, this.kept.length));
    this.filling = filled;
    if (!signal) return filled;
    if (signal.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const onAbort = () => resolve(null);
      signal.addEventListener('abort', onAbort, { once: true });
      void filled.then((head) => {
        signal.removeEventListener('abort', onAbort);
        resolve(head);
      });
    });
  }

  /** The fingerprint of the first `committed` bytes, at most as many as are kept. */
  fingerprint(committed: number): HeadFingerprint {
    const length = Math.min(committed, this.length);
    if (this.cached?.fingerprintLen !== length) this.cached = { fingerprint: sha256Hex(this.kept.subarray(0, length)), fingerprintLen: length };
    return this.cached;
  }

  private async fill(length: number): Promise<Buffer> {
    while (this.length < length && !this.ended) {
      try {
        const next = await this.source.next();
        if (next.done) this.ended = true;
        else {
          this.keep(next.value);
          this.ahead.push(next.value);
        }
      } catch (error) {
        this.failure = { error };
        this.ended = true;
      }
    }
    return Buffer.from(this.kept.subarray(0, Math.min(length, this.length)));
  }

  private keep(chunk: Buffer): void {
    // A copy: the reader may use the chunk's memory again once it is done with it.
    this.length += chunk.copy(this.kept, this.length);
  }
}
