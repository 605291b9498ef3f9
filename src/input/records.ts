import type { RecordErrorCode } from '../errors.js';
import { sha256Hex } from '../sha256.js';
import type { InputEncoding } from './encoding.js';
import type { KeyDeriver } from './key.js';
import type { LineBuffers } from './line-buffers.js';
import { decodeLossy } from './line-reader.js';

/** A record ready to write: its key, and its value's bytes and digest. */
export interface RecordEvent {
  kind: 'record';
  line: number;
  /** Byte offset just past the record in the (decompressed) input. */
  end: number;
  /** The line where the record ends, when not `line` (a pretty-printed JSON element): the watermark's line. */
  endLine?: number;
  key: string;
  value: Buffer;
  sha256: string;
  /** Where the record first came from, when that is not this input (`bwrite retry` of a failures file). */
  origin?: Origin;
  /** A CSV row with no line end yet: it parses, but a writer may still be appending to it. */
  unterminated?: boolean;
}

export interface Origin {
  source: string;
  line: number | null;
  /** The run that first read it, and what the store still knows of that run. */
  run?: string;
  runInfo?: OriginRun;
}

/** When a run started (ms) and the inputs it read, in order. */
export interface OriginRun {
  startedAt: number;
  sources: string[];
}

/** A record that cannot be imported; it fails alone, with where it came from. */
export interface FailureEvent {
  kind: 'failure';
  line: number;
  end: number;
  endLine?: number;
  code: RecordErrorCode | 'E_READ';
  message: string;
  key: string | null;
  /** The parsed record; the failures file keeps it rather than `raw` when there is one. */
  record?: unknown;
  raw?: string | null;
  /** The exact bytes, when `raw` cannot hold them (invalid UTF-8 shows there as U+FFFD). */
  rawBytes?: Buffer;
  /** The line had no line end yet: a writer may still be appending to it (see `--resume`). */
  unterminated?: boolean;
  /**
   * The failure is the rest of the input (a break in JSON structure): nothing after it is read,
   * and the watermark stays before it, so that the input, once fixed, is read on from there.
   */
  rest?: boolean;
  origin?: Origin;
}

export type ReadEvent = RecordEvent | FailureEvent;

export interface ReaderOptions {
  deriveKey: KeyDeriver;
  /** A run of this store, for `bwrite retry`; null when the store does not know it. */
  runInfo?: (runId: string) => OriginRun | null;
  /** The largest record accepted, in bytes. */
  maxRecordBytes: number;
  /** The input's encoding, to name it when a line cannot be read (the readers see UTF-8 already); standard input's is known once read. */
  encoding?: () => InputEncoding;
  /** Where long lines are copied to (NDJSON); the import run gives each back once it is written. */
  lineBuffers?: LineBuffers;
}

/**
 * Keys the value (its bytes already final) and turns it into a record or a failure. `exact`
 * gives the record with unsafe numbers as their source text; it is called only when a key field
 * holds such a number (once per such field), so the common path never re-parses.
 */
export function keyedEvent(line: number, end: number, record: Record<string, unknown>, value: Buffer, deriveKey: KeyDeriver, exact?: () => unknown): ReadEvent {
  let sha256: string | undefined;
  const digest = () => (sha256 ??= sha256Hex(value));
  const derived = deriveKey(record, { line, sha256: digest, exactRecord: exact });
  if ('code' in derived) return { kind: 'failure', line, end, code: derived.code, message: derived.message, key: null, record, raw: value.toString('utf8') };
  return { kind: 'record', line, end, key: derived.key, value, sha256: digest() };
}

/** Bytes that are not UTF-8: shown with U+FFFD in `raw`, kept exactly in `rawBytes`, never stored. */
export function invalidUtf8(line: number, end: number, bytes: Buffer, message: string, unterminated?: boolean): FailureEvent {
  return { kind: 'failure', line, end, code: 'E_INVALID_UTF8', message, key: null, raw: decodeLossy(bytes), rawBytes: Buffer.from(bytes), unterminated };
}

export function tooLarge(line: number, end: number, size: number, limit: number): FailureEvent {
  return {
    kind: 'failure',
    line,
    end,
    code: 'E_RECORD_TOO_LARGE',
    message: `the record is ${size} bytes, over the record size limit of ${limit} bytes (--max-record-size)`,
    key: null,
    raw: null,
  };
}

export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
