import fs from 'node:fs';
import { fingerprintOf, type InputSource } from '../input/source.js';
import type { LinePosition } from '../input/line-reader.js';
import type { StreamHead } from '../input/stream-head.js';
import { sha256Hex } from '../sha256.js';
import type { SavedWatermark, Watermark, WatermarkState } from '../store/index-db.js';
import type { Store } from '../store/store.js';

export interface ResumeContext {
  /** Aborts a read ahead on standard input that is waiting for more of it. */
  signal: AbortSignal;
  /** One line for the user when standard input is imported from the start after all. */
  notice: (message: string) => void;
}

/** Where a run starts an input, and the earlier watermark it starts over from, if it does not describe it. */
export interface InputStart {
  resumeAfterLine: number;
  /** The byte offset the committed prefix ends at (0 when nothing is to be skipped). */
  resumeAfterByte: number;
  supersedes: WatermarkState | null;
  /** Set when the input can be read on from its watermark instead of from its start (see `readFrom`). */
  from: ReadFrom | null;
}

/** Where a file is read from: just past its committed prefix, and how many records that prefix holds. */
export interface ReadFrom extends LinePosition {
  records: number;
}

/**
 * Where an input starts: with `--resume`, after the last line an earlier run committed, if the
 * source is still the input that run read. A file: same file (device and inode), same first bytes,
 * and not shorter than what was committed. Otherwise the file was replaced or truncated: it is
 * imported from the start, and its new watermark replaces the old one (which would only move
 * forward). A run without `--resume` checks a file the same way, for the same reason.
 * `seek`: the input's reader can start past a line (one record a line, NDJSON) or past a JSON
 * value; a plain file it reads is then read on from the watermark's byte offset, not from its start.
 */
export async function inputStart(store: Store, source: InputSource, context: ResumeContext, resume: boolean, seek: Seek): Promise<InputStart> {
  const none = { resumeAfterLine: 0, resumeAfterByte: 0, supersedes: null, from: null };
  const mark = store.index.getWatermark(source.id);
  if (!mark) return none;
  if (source.head && !resume) return none;
  const line = source.head ? await stdinResumePoint(mark, source.name, source.head, context) : await fileResumePoint(mark, source);
  const supersedes = line === null ? stateOf(mark) : null;
  const from = resume && line !== null && seek ? await readFromPoint(mark, source, seek) : null;
  const resumed = resume && line !== null;
  return { resumeAfterLine: resumed ? line : 0, resumeAfterByte: resumed ? mark.bytes : 0, supersedes, from };
}

/** How a reader can start inside an input: past a line, past a JSON value, or not at all. */
export type Seek = 'line' | 'value' | false;

/**
 * A regular, uncompressed UTF-8 file (its size is known only for a regular file) can be read from
 * an offset, when the watermark says how many records lie before it. A compressed or transcoded
 * input is read from its start and its committed lines skipped: the watermark's offsets count
 * its UTF-8 text, which is not the file's bytes.
 */
async function readFromPoint(mark: SavedWatermark, source: InputSource, seek: 'line' | 'value'): Promise<ReadFrom | null> {
  if (source.path === null || !source.plain || source.size === null || !mark.recordsCounted) return null;
  const last = await byteBefore(source.path, mark.bytes);
  const fits = seek === 'line' ? last === 0x0a : last !== null && endsValue(last);
  return fits ? { line: mark.line, bytes: mark.bytes, records: mark.records } : null;
}

/** What a JSON value's last byte can be: a closer, a string's quote, a number's digit, true/false/null's last letter. */
function endsValue(byte: number): boolean {
  return byte === 0x7d || byte === 0x5d || byte === 0x22 || (byte >= 0x30 && byte <= 0x39) || byte === 0x65 || byte === 0x6c;
}

/**
 * The byte just before `offset` of a file, to check that it ends a line (or a JSON value) as the
 * watermark's offset did when it was saved. If not, the file was rewritten in place (or its last
 * committed line had no line end then): it is read from the start, and the committed records skipped.
 */
async function byteBefore(file: string, offset: number): Promise<number | null> {
  if (offset <= 0) return null;
  try {
    const fd = await fs.promises.open(file, 'r');
    try {
      const byte = Buffer.alloc(1);
      const { bytesRead } = await fd.read(byte, 0, 1, offset - 1);
      return bytesRead === 1 ? byte[0]! : null;
    } finally {
      await fd.close();
    }
  } catch {
    // Gone or unreadable since it was opened: reading it from the start reports that as before.
    return null;
  }
}

async function fileResumePoint(mark: Watermark, source: InputSource): Promise<number | null> {
  if (source.path === null || mark.fingerprint === null) return null;
  if (mark.ino !== null && (mark.ino !== source.ino || mark.dev !== source.dev)) return null;
  // The size now, not as the file was opened: a run that committed past that size since, over a
  // file that only grew, would make it look truncated, and it would be imported from the start.
  const size = source.size === null ? null : sizeNow(source.path);
  if (size !== null && size < mark.fingerprintLen) return null;
  if (source.plain && size !== null && size < mark.bytes) return null;
  const now = mark.fingerprintLen === source.fingerprintLen ? source.fingerprint : await fingerprintOf(source.path, mark.fingerprintLen);
  return now === mark.fingerprint ? mark.line : null;
}

function sizeNow(file: string): number | null {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}

function stateOf(mark: Watermark): WatermarkState {
  return { line: mark.line, bytes: mark.bytes, fingerprint: mark.fingerprint };
}

/**
 * Standard input has no inode and no size: it is the stream an earlier run read when it starts with
 * the bytes that run's watermark fingerprinted, which a feed that only grew does. A watermark saved
 * before stdin watermarks had a fingerprint cannot tell, so that stream is imported from the start.
 */
async function stdinResumePoint(mark: Watermark, name: string, head: StreamHead, context: ResumeContext): Promise<number | null> {
  if (mark.fingerprint === null) {
    context.notice(`${name}: the earlier runs under this --source-name were by an older bwrite, which kept no fingerprint of standard input to recognise it by; importing it from the start`);
    return null;
  }
  const first = await head.read(mark.fingerprintLen, context.signal);
  // Interrupted while waiting: the run reads nothing, so where it would start does not matter.
  if (first === null) return 0;
  if (first.length === mark.fingerprintLen && sha256Hex(first) === mark.fingerprint) return mark.line;
  context.notice(`${name}: standard input does not start with what an earlier run under this --source-name committed; importing it from the start`);
  return null;
}
