import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BwriteError } from '../errors.js';
import { sha256Hex } from '../sha256.js';
import type { Watermark } from '../store/index-db.js';
import { drained } from './drain.js';
import { LineBuffers } from './line-buffers.js';
import { StreamHead } from './stream-head.js';

export type InputFormat = 'ndjson' | 'json' | 'csv' | 'tsv';
/** A format, or JSON text or NDJSON as the input's first bytes say (a `.json` name, standard input): see format-sniff.ts. */
export type FormatChoice = InputFormat | 'json-or-ndjson';

const FINGERPRINT_BYTES = 4096;
// 1 MiB reads: 1 MB values then mostly lie inside one read instead of being stitched from four
// (200 × 1 MB: 1.52 s → 1.0–1.26 s); 1 KB records cost the same (2.6–2.7 s per 100k), 20 MB more RSS.
const READ_CHUNK = 1024 * 1024;

/** One input: a file or standard input, gzip or not, read as a stream of (decompressed) bytes. */
export interface InputSource {
  /** What messages and the failures file call it: the path as given, or `-`. */
  name: string;
  /** What resume watermarks are kept under: the absolute path, or `stdin:<--source-name>`. */
  id: string;
  path: string | null;
  /** Bytes on disk, for progress; null for standard input. */
  size: number | null;
  dev: number | null;
  ino: number | null;
  gzip: boolean;
  /** SHA-256 of the first `fingerprintLen` bytes of the file as stored; null for standard input. */
  fingerprint: string | null;
  fingerprintLen: number;
  /** Standard input's first (decompressed) bytes, for its watermark and `--resume`; null for a file. */
  head: StreamHead | null;
  /** Raw bytes consumed so far (compressed bytes for gzip). */
  bytesRead: number;
  chunks: AsyncIterable<Buffer>;
}

/** Format from the extension, under an optional `.gz`; null when the name says nothing. */
export function formatFromName(name: string): FormatChoice | null {
  const base = name.toLowerCase().replace(/\.gz$/, '');
  if (base.endsWith('.ndjson') || base.endsWith('.jsonl')) return 'ndjson';
  if (base.endsWith('.json')) return 'json-or-ndjson';
  if (base.endsWith('.csv')) return 'csv';
  if (base.endsWith('.tsv') || base.endsWith('.tab')) return 'tsv';
  return null;
}

/** Checks that every input exists and is readable before anything is written (exit 2 if not). */
export function checkInput(spec: string): void {
  if (spec === '-') return;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(spec);
    fs.accessSync(spec, fs.constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new BwriteError('E_INPUT', `cannot read input ${spec}: ${why}`);
  }
  if (stat.isDirectory()) throw new BwriteError('E_INPUT', `cannot read input ${spec}: it is a directory`);
}

export async function openSource(spec: string, options: { sourceName?: string; lineBuffers?: LineBuffers } = {}): Promise<InputSource> {
  if (spec === '-') return openStdin(options.sourceName);
  checkInput(spec);
  const fd = await fs.promises.open(spec, 'r');
  let head: Buffer;
  let stat: fs.Stats;
  try {
    stat = await fd.stat();
    const probe = Buffer.alloc(Math.min(FINGERPRINT_BYTES, Math.max(stat.size, 0)));
    const { bytesRead } = probe.length > 0 ? await fd.read(probe, 0, probe.length, 0) : { bytesRead: 0 };
    head = probe.subarray(0, bytesRead);
  } finally {
    await fd.close();
  }
  const gzip = isGzip(head);
  const source: InputSource = {
    name: spec,
    id: path.resolve(spec),
    path: path.resolve(spec),
    size: stat.isFile() ? stat.size : null,
    dev: stat.dev,
    ino: stat.ino,
    gzip,
    fingerprint: sha256Hex(head),
    fingerprintLen: head.length,
    head: null,
    bytesRead: 0,
    chunks: (async function* () {})(),
  };
  // zlib may hold on to what it is given, so gzip input gets a fresh buffer for every read.
  source.chunks = gzip
    ? gunzipChunks(fs.createReadStream(spec, { highWaterMark: READ_CHUNK }), source)
    : decodeIterable(readReusing(spec, options.lineBuffers ?? new LineBuffers(), 0), false, source);
  return source;
}

/**
 * Reads a plain file from byte `offset` on instead of from its start: `--resume` past a prefix
 * that is committed, so that its cost follows what is new, not the whole file.
 */
export function readFrom(source: InputSource, offset: number, buffers: LineBuffers): void {
  if (source.path === null || source.gzip) throw new Error(`${source.name} cannot be read from an offset`);
  source.bytesRead = offset;
  source.chunks = decodeIterable(readReusing(source.path, buffers, offset), false, source);
}

/**
 * A plain file's bytes from byte `start` on, in READ_CHUNK reads into read buffers of `buffers`,
 * the next read already under way while a chunk is handed out. A chunk's buffer is used again once the next chunk is
 * asked for and every record lent from it is given back (see LineBuffers.readBuffer): readers
 * that lend nothing copy what they keep. A fresh 1 MiB buffer per read costs page faults on every
 * chunk: reading and scanning 200 MB took 400–580 ms that way, 75–100 ms in reused buffers.
 */
async function* readReusing(file: string, buffers: LineBuffers, start: number): AsyncGenerator<Buffer> {
  const fd = await fs.promises.open(file, 'r');
  let position = start;
  let pending = fd.read(buffers.readBuffer(READ_CHUNK), 0, READ_CHUNK, position);
  try {
    for (;;) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) return;
      position += bytesRead;
      pending = fd.read(buffers.readBuffer(READ_CHUNK), 0, READ_CHUNK, position);
      yield buffer.subarray(0, bytesRead);
      buffers.doneReading(buffer);
    }
  } finally {
    // A consumer that stops early leaves a read in flight: it ends before the file is closed.
    await pending.catch(() => undefined);
    await fd.close();
  }
}

/** SHA-256 of a file's first `length` bytes, to tell whether it is still the file a watermark describes. */
export async function fingerprintOf(file: string, length: number): Promise<string | null> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await fd.read(buffer, 0, length, 0);
    return bytesRead === length ? sha256Hex(buffer) : null;
  } finally {
    await fd.close();
  }
}

function openStdin(sourceName: string | undefined): InputSource {
  const source: InputSource = {
    name: sourceName ?? '-',
    id: `stdin:${sourceName ?? '-'}`,
    path: null,
    size: null,
    dev: null,
    ino: null,
    gzip: false,
    fingerprint: null,
    fingerprintLen: 0,
    head: null,
    bytesRead: 0,
    chunks: (async function* () {})(),
  };
  const head = new StreamHead(sniffAndDecode(process.stdin, source), FINGERPRINT_BYTES);
  source.head = head;
  source.chunks = head.chunks();
  return source;
}

/**
 * What the watermark records of an input once its first `committed` bytes are committed: a file
 * is known by device, inode and its first bytes as stored; standard input by its first bytes as
 * read (decompressed, like the lines and offsets the watermark counts), no more than were committed,
 * so that the same feed grown longer still matches.
 */
export function identityAt(source: InputSource, committed: number): Pick<Watermark, 'dev' | 'ino' | 'fingerprint' | 'fingerprintLen'> {
  if (source.head) return { dev: null, ino: null, ...source.head.fingerprint(committed) };
  return { dev: source.dev, ino: source.ino, fingerprint: source.fingerprint, fingerprintLen: source.fingerprintLen };
}

async function* sniffAndDecode(stream: Readable, source: InputSource): AsyncGenerator<Buffer> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let first = await iterator.next();
  // A gzip magic number needs two bytes; a pipe may deliver one at a time.
  while (!first.done && first.value.length < 2) {
    const more = await iterator.next();
    if (more.done) break;
    first = { done: false, value: Buffer.concat([first.value, more.value]) };
  }
  if (first.done) return;
  source.gzip = isGzip(first.value);
  async function* rest(): AsyncGenerator<Buffer> {
    yield first.value as Buffer;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  yield* decodeIterable(rest(), source.gzip, source);
}

async function* decodeIterable(raw: AsyncIterable<Buffer>, gzip: boolean, source: InputSource): AsyncGenerator<Buffer> {
  if (!gzip) {
    for await (const chunk of raw) {
      source.bytesRead += chunk.length;
      yield chunk;
    }
    return;
  }
  yield* gunzipChunks(raw, source);
}

const HIGH_WATER = 8;
const GZIP_SLICE = 16 * 1024;

/**
 * Decompresses gzip (several members are read as one stream). Everything decoded before damage
 * (a truncated member, trailing garbage) is delivered first; then the damage is an `E_READ` error.
 * zlib drops what the write that hit the damage had decoded, so for a file that one slice is
 * decoded again, a byte at a time, to deliver the records it held.
 */
async function* gunzipChunks(raw: AsyncIterable<Buffer>, source: InputSource): AsyncGenerator<Buffer> {
  let delivered = 0;
  try {
    for await (const chunk of inflate(raw, (n) => (source.bytesRead += n))) {
      delivered += chunk.length;
      yield chunk;
    }
  } catch (error) {
    const damage = error as Error & { confirmed?: number };
    if (source.path !== null && damage.confirmed !== undefined) yield* redecodeSlice(source.path, damage.confirmed, delivered);
    throw new BwriteError('E_READ', `the gzip data is damaged (${damage.message}); what came before it was read`, { cause: error });
  }
}

/** The output of the damaged slice that was not delivered yet: past the first `delivered` bytes. */
async function* redecodeSlice(file: string, confirmed: number, delivered: number): AsyncGenerator<Buffer> {
  async function* input(): AsyncGenerator<Buffer> {
    let offset = 0;
    for await (const chunk of fs.createReadStream(file, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length; ) {
        const bytewise = offset >= confirmed;
        const size = bytewise ? 1 : Math.min(chunk.length - i, confirmed - offset);
        yield chunk.subarray(i, i + size);
        i += size;
        offset += size;
        if (offset >= confirmed + GZIP_SLICE) return;
      }
    }
  }
  let produced = 0;
  try {
    for await (const chunk of inflate(input(), () => {})) {
      const skip = Math.max(0, delivered - produced);
      produced += chunk.length;
      if (skip < chunk.length) yield chunk.subarray(skip);
    }
  } catch {
    // The same damage again: everything before it has now been delivered.
  }
}

/** zlib's gunzip as an iterable, fed in small slices; an error carries the input offset it was confirmed up to. */
async function* inflate(raw: AsyncIterable<Buffer>, onRead: (bytes: number) => void): AsyncGenerator<Buffer> {
  const gunzip = createGunzip({ chunkSize: READ_CHUNK });
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
  gunzip.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    if (queue.length >= HIGH_WATER) gunzip.pause();
    signal();
  });
  gunzip.on('error', (error) => {
    failure ??= Object.assign(error, { confirmed });
    signal();
  });
  gunzip.on('end', () => {
    ended = true;
    signal();
  });
  const feed = (async () => {
    try {
      for await (const chunk of raw) {
        onRead(chunk.length);
        for (let offset = 0; offset < chunk.length; offset += GZIP_SLICE) {
          if (gunzip.destroyed || failure) return;
          const slice = chunk.subarray(offset, offset + GZIP_SLICE);
          const accepted = gunzip.write(slice, (error) => {
            if (!error) confirmed += slice.length;
          });
          if (!accepted) await drained(gunzip);
        }
      }
      if (!gunzip.destroyed) gunzip.end();
    } catch (error) {
      gunzip.destroy(error as Error);
    }
  })();
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk) {
        if (queue.length < HIGH_WATER / 2 && gunzip.isPaused()) gunzip.resume();
        yield chunk;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    gunzip.destroy();
    await feed;
  }
}

function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}
