import fs from 'node:fs';
import { BwriteError } from '../errors.js';
import { decoderFor, type Compression } from './compression.js';
import { drained } from './drain.js';

const HIGH_WATER = 8;
const SLICE = 16 * 1024;

export interface Decompression {
  compression: Compression;
  /** Decoded bytes are handed out in chunks of about this size. */
  chunkSize: number;
  /** The file the input is, to decode the damaged slice again (see `redecodeSlice`); null for standard input. */
  file: string | null;
  /** Called with the number of compressed bytes each time some are read. */
  onRead: (bytes: number) => void;
}

/**
 * Decompresses an input (several members, frames or streams are read as one). Everything decoded
 * before damage (cut short, corrupt, trailing garbage) is delivered first; then the damage is an
 * `E_READ` error. A decoder may drop what the write that hit the damage had decoded, so for a file
 * that one slice is decoded again, a byte at a time, to deliver the records it held.
 */
export async function* decompress(raw: AsyncIterable<Buffer>, options: Decompression): AsyncGenerator<Buffer> {
  let delivered = 0;
  const make = () => decoderFor(options.compression, options.chunkSize);
  try {
    for await (const chunk of decode(raw, make, options.onRead)) {
      delivered += chunk.length;
      yield chunk;
    }
  } catch (error) {
    const damage = error as Error & { confirmed?: number };
    if (options.file !== null && damage.confirmed !== undefined) yield* redecodeSlice(options.file, make, damage.confirmed, delivered, options.chunkSize);
    throw new BwriteError('E_READ', `the ${options.compression} data is damaged or cut short (${damage.message}); what came before it was read`, { cause: error });
  }
}

type Decoder = ReturnType<typeof decoderFor>;

/** The output of the damaged slice that was not delivered yet: past the first `delivered` bytes. */
async function* redecodeSlice(file: string, make: () => Decoder, confirmed: number, delivered: number, chunkSize: number): AsyncGenerator<Buffer> {
  async function* input(): AsyncGenerator<Buffer> {
    let offset = 0;
    for await (const chunk of fs.createReadStream(file, { highWaterMark: chunkSize }) as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length; ) {
        const bytewise = offset >= confirmed;
        const size = bytewise ? 1 : Math.min(chunk.length - i, confirmed - offset);
        yield chunk.subarray(i, i + size);
        i += size;
        offset += size;
        if (offset >= confirmed + SLICE) return;
      }
    }
  }
  let produced = 0;
  try {
    for await (const chunk of decode(input(), make, () => {})) {
      const skip = Math.max(0, delivered - produced);
      produced += chunk.length;
      if (skip < chunk.length) yield chunk.subarray(skip);
    }
  } catch {
    // The same damage again: everything before it has now been delivered.
  }
}

/** A decoder as an iterable, fed in small slices; an error carries the input offset it was confirmed up to. */
async function* decode(raw: AsyncIterable<Buffer>, make: () => Decoder, onRead: (bytes: number) => void): AsyncGenerator<Buffer> {
  const decoder = make();
  const queue: Buffer[] = [];
  let failure: Error | null = null;
  let ended = false;
  let confirmed = 0;
  let wake: (() => void) | null = null;
  const signal = () => {
    const resume = wake;
    wake = null;
    resume?.();
  };
  decoder.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    if (queue.length >= HIGH_WATER) decoder.pause();
    signal();
  });
  decoder.on('error', (error: Error) => {
    failure ??= Object.assign(error, { confirmed });
    signal();
  });
  decoder.on('end', () => {
    ended = true;
    signal();
  });
  const feed = (async () => {
    try {
      for await (const chunk of raw) {
        onRead(chunk.length);
        for (let offset = 0; offset < chunk.length; offset += SLICE) {
          if (decoder.destroyed || failure) return;
          const slice = chunk.subarray(offset, offset + SLICE);
          const accepted = decoder.write(slice, (error) => {
            if (!error) confirmed += slice.length;
          });
          if (!accepted) await drained(decoder);
        }
      }
      if (!decoder.destroyed) decoder.end();
    } catch (error) {
      decoder.destroy(error as Error);
    }
  })();
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk) {
        if (queue.length < HIGH_WATER / 2 && decoder.isPaused()) decoder.resume();
        yield chunk;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    decoder.destroy();
    await feed;
  }
}
