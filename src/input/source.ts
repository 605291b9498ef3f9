import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BwriteError } from '../errors.js';
import { sha256Hex } from '../sha256.js';
import type { Watermark } from '../store/index-db.js';
import { COMPRESSED_SUFFIX, compressionOf, MAGIC_BYTES, type Compression } from './compression.js';
import { decompress } from './decompress.js';
import { encodingFromBom, toUtf8, type InputEncoding } from './encoding.js';
import { LineBuffers } from './line-buffers.js';
import { StreamHead } from './stream-head.js';

export type InputFormat = 'ndjson' | 'json' | 'csv' | 'tsv';
/** A format, or JSON text or NDJSON as the input's first bytes say (a `.json` name, standard input): see format-sniff.ts. */
export type FormatChoice = InputFormat | 'json-or-ndjson';

const FINGERPRINT_BYTES = 4096;
// Large reads: a large value then mostly lies inside one read rather than being stitched from
// several, and small records cost the same (bench/PERFORMANCE.md, The sweep and the defaults).
const READ_CHUNK = 1024 * 1024;

/**
 * One input: a file or standard input, compressed or not, in any encoding of `--encoding`, read
 * as a stream of UTF-8 bytes (`chunks`): decompressed first, then transcoded. Every reader (NDJSON,
 * CSV, JSON) reads those chunks, so lines, offsets and watermarks all count in that text.
 */
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
  /** Known when the file is opened; for standard input once its first bytes are read. */
  compression: Compression | null;
  /** The input's encoding, from `--encoding` or a UTF-16 byte-order mark (else UTF-8); for standard input known once read. */
  encoding: InputEncoding;
  /**
   * The text's offsets are the file's own (uncompressed, UTF-8): it can be read from an offset
   * (`readFrom`), and an offset past its size means it was truncated.
   */
  plain: boolean;
  /** The first bytes as stored (before decompression), to say what an input that cannot be read looks like. */
  magic: Buffer;
  /** SHA-256 of the first `fingerprintLen` bytes of the file as stored; null for standard input. */
  fingerprint: string | null;
  fingerprintLen: number;
  /** Standard input's first (decompressed) bytes, for its watermark and `--resume`; null for a file. */
  head: StreamHead | null;
  /** Raw bytes consumed so far (compressed bytes for a compressed input). */
  bytesRead: number;
  chunks: AsyncIterable<Buffer>;
}

/** Format from the extension, under an optional `.gz`, `.zst`, `.xz` or `.bz2`; null when the name says nothing. */
export function formatFromName(name: string): FormatChoice | null {
  const base = name.toLowerCase().replace(COMPRESSED_SUFFIX, '');
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

export interface OpenOptions {
  sourceName?: string;
  lineBuffers?: LineBuffers;
  /** `--encoding`: when not given, a UTF-16 byte-order mark says UTF-16, anything else is UTF-8. */
  encoding?: InputEncoding;
  /**
   * Into a store many hosts share: this host's name, which qualifies the source's id, so that the
   * same path (or --source-name) on two hosts keeps two resume watermarks, not one they fight over.
   */
  host?: string;
}

export async function openSource(spec: string, options: OpenOptions = {}): Promise<InputSource> {
  if (spec === '-') return openStdin(options);
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
  const compression = compressionOf(head);
  // An uncompressed file's first bytes are its text's: a byte-order mark is known now.
  const encoding = options.encoding ?? (compression ? 'utf-8' : (encodingFromBom(head) ?? 'utf-8'));
  const source: InputSource = {
    name: spec,
    id: hostScoped(path.resolve(spec), options.host),
    path: path.resolve(spec),
    size: stat.isFile() ? stat.size : null,
    dev: stat.dev,
    ino: stat.ino,
    compression,
    encoding,
    plain: compression === null && encoding === 'utf-8',
    magic: Buffer.from(head.subarray(0, MAGIC_BYTES)),
    fingerprint: sha256Hex(head),
    fingerprintLen: head.length,
    head: null,
    bytesRead: 0,
    chunks: (async function* () {})(),
  };
  // A decoder may hold on to what it is given, so compressed input gets a fresh buffer for every read.
  const raw = compression ? fs.createReadStream(spec, { highWaterMark: READ_CHUNK }) : readReusing(spec, options.lineBuffers ?? new LineBuffers(), 0);
  source.chunks = decodeIterable(raw, source, compression ? options.encoding : encoding);
  return source;
}

/**
 * Reads a plain file from byte `offset` on instead of from its start: `--resume` past a prefix
 * that is committed, so that its cost follows what is new, not the whole file.
 */
export function readFrom(source: InputSource, offset: number, buffers: LineBuffers): void {
  if (source.path === null || !source.plain) throw new Error(`${source.name} cannot be read from an offset`);
  source.bytesRead = offset;
  source.chunks = decodeIterable(readReusing(source.path, buffers, offset), source, 'utf-8');
}

/**
 * A plain file's bytes from byte `start` on, in READ_CHUNK reads into read buffers of `buffers`,
 * the next read already under way while a chunk is handed out. A chunk's buffer is used again once the next chunk is
 * asked for and every record lent from it is given back (see LineBuffers.readBuffer): readers
 * that lend nothing copy what they keep. A fresh 1 MiB buffer per read would cost page faults on
 * every chunk, several times the reading and scanning itself.
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

function openStdin(options: OpenOptions): InputSource {
  const sourceName = options.sourceName;
  const source: InputSource = {
    name: sourceName ?? '-',
    id: hostScoped(`stdin:${sourceName ?? '-'}`, options.host),
    path: null,
    size: null,
    dev: null,
    ino: null,
    compression: null,
    encoding: options.encoding ?? 'utf-8',
    plain: false,
    magic: Buffer.alloc(0),
    fingerprint: null,
    fingerprintLen: 0,
    head: null,
    bytesRead: 0,
    chunks: (async function* () {})(),
  };
  const head = new StreamHead(sniffAndDecode(process.stdin, source, options.encoding), FINGERPRINT_BYTES);
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

async function* sniffAndDecode(stream: Readable, source: InputSource, encoding: InputEncoding | undefined): AsyncGenerator<Buffer> {
  const { head, rest } = await firstBytes(stream, MAGIC_BYTES);
  source.compression = compressionOf(head);
  source.magic = Buffer.from(head.subarray(0, MAGIC_BYTES));
  yield* decodeIterable(rest, source, encoding);
}

/**
 * The input's text: decompressed if it is compressed, then transcoded to UTF-8 from `encoding`, or
 * from what a byte-order mark at the start of the decompressed bytes says when it is not known yet.
 */
async function* decodeIterable(raw: AsyncIterable<Buffer>, source: InputSource, encoding: InputEncoding | undefined): AsyncGenerator<Buffer> {
  const decompressed = source.compression
    ? decompress(raw, { compression: source.compression, chunkSize: READ_CHUNK, file: source.path, onRead: (n) => (source.bytesRead += n) })
    : countRead(raw, source);
  if (encoding !== undefined) {
    yield* toUtf8(decompressed, encoding);
    return;
  }
  const { head, rest } = await firstBytes(decompressed, 2);
  source.encoding = encodingFromBom(head) ?? 'utf-8';
  yield* toUtf8(rest, source.encoding);
}

async function* countRead(raw: AsyncIterable<Buffer>, source: InputSource): AsyncGenerator<Buffer> {
  for await (const chunk of raw) {
    source.bytesRead += chunk.length;
    yield chunk;
  }
}

/**
 * At least the first `length` bytes of a stream (fewer if it ends sooner), and the whole stream,
 * those bytes included: a pipe may deliver one byte at a time.
 */
async function firstBytes(stream: AsyncIterable<Buffer>, length: number): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const read: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < length) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    read.push(next.value);
    size += next.value.length;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield* read;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head: read.length === 1 ? read[0]! : Buffer.concat(read), rest: rest() };
}

function hostScoped(id: string, host: string | undefined): string {
  return host === undefined ? id : `host:${host}:${id}`;
}
