import fs from 'node:fs';
import { fingerprintOf, type InputSource } from '../input/source.js';
import type { StreamHead } from '../input/stream-head.js';
import { sha256Hex } from '../sha256.js';
import type { Watermark, WatermarkState } from '../store/index-db.js';
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
  supersedes: WatermarkState | null;
}

/**
 * Where an input starts: with `--resume`, after the last line an earlier run committed, if the
 * source is still the input that run read. A file: same file (device and inode), same first bytes,
 * and not shorter than what was committed. Otherwise the file was replaced or truncated: it is
 * imported from the start, and its new watermark replaces the old one (which would only move
 * forward). A run without `--resume` checks a file the same way, for the same reason.
 */
export async function inputStart(store: Store, source: InputSource, context: ResumeContext, resume: boolean): Promise<InputStart> {
  const mark = store.index.getWatermark(source.id);
  if (!mark) return { resumeAfterLine: 0, supersedes: null };
  if (source.head && !resume) return { resumeAfterLine: 0, supersedes: null };
  const line = source.head ? await stdinResumePoint(mark, source.name, source.head, context) : await fileResumePoint(mark, source);
  const supersedes = line === null ? stateOf(mark) : null;
  return { resumeAfterLine: resume ? (line ?? 0) : 0, supersedes };
}

async function fileResumePoint(mark: Watermark, source: InputSource): Promise<number | null> {
  if (source.path === null || mark.fingerprint === null) return null;
  if (mark.ino !== null && (mark.ino !== source.ino || mark.dev !== source.dev)) return null;
  // The size now, not as the file was opened: a run that committed past that size since, over a
  // file that only grew, would make it look truncated, and it would be imported from the start.
  const size = source.size === null ? null : sizeNow(source.path);
  if (size !== null && size < mark.fingerprintLen) return null;
  if (!source.gzip && size !== null && size < mark.bytes) return null;
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
