import { isAscii, isUtf8 } from 'node:buffer';
import { parseExact } from './exact-numbers.js';
import { encodingLabel } from './encoding.js';
import { jsonSkeleton, SKELETON_MIN_LINE } from './json-skeleton.js';
import { decodeUtf8, readLines, type LinePosition } from './line-reader.js';
import { describeJsonType, invalidUtf8, keyedEvent, tooLarge, type ReadEvent, type ReaderOptions } from './records.js';

/**
 * NDJSON records, a chunk's worth at a time. The stored value is the record's JSON text as it
 * stands in the input (surrounding white space removed): numbers keep their exact digits.
 * `from`: the chunks start just past that line (see readFrom in source.ts).
 */
export async function* readNdjson(chunks: AsyncIterable<Buffer>, options: ReaderOptions, from?: LinePosition): AsyncGenerator<ReadEvent[]> {
  const { lineBuffers } = options;
  for await (const lines of readLines(chunks, options.maxRecordBytes, lineBuffers, from)) {
    const events: ReadEvent[] = [];
    for (const { line, bytes, size, end, unterminated } of lines) {
      if (bytes === null) {
        events.push(tooLarge(line, end, size, options.maxRecordBytes));
        continue;
      }
      const value = trimWhitespace(bytes);
      if (value.length === 0) continue;
      const event = jsonTextEvent(line, end, value, options, { unterminated });
      // A record's value may be a view of a read buffer: it is kept until the import gives it back.
      if (event.kind === 'record') lineBuffers?.lend(event.value);
      events.push(event);
    }
    if (events.length > 0) yield events;
  }
}

/**
 * The record in one JSON text (an NDJSON line, an element of a JSON array), or why it is none.
 * `hints`: a failure at line 1 that looks like a whole JSON array says how to read one.
 */
export function jsonTextEvent(line: number, end: number, value: Buffer, options: ReaderOptions, how: { unterminated?: boolean; hints?: boolean } = {}): ReadEvent {
  return (value.length >= SKELETON_MIN_LINE && readLargeRecord(line, end, value, options)) || readRecord(line, end, value, options, how.unterminated, how.hints ?? true);
}

/** Any line: decoded and parsed whole. Every failure's message comes from here. */
function readRecord(line: number, end: number, value: Buffer, options: ReaderOptions, unterminated: boolean | undefined, hints: boolean): ReadEvent {
  const text = decodeUtf8(value);
  if (text === null) {
    return invalidUtf8(line, end, value, `the line is not valid ${encodingLabel(options.encoding?.())}`, unterminated);
  }
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof RangeError ? 'nested too deeply' : (error as Error).message;
    return { kind: 'failure', line, end, code: 'E_PARSE', message: `not valid JSON: ${reason}${hints ? arrayHint(line, text) : ''}`, key: null, raw: text, unterminated };
  }
  if (!isObject(record)) {
    return { kind: 'failure', line, end, code: 'E_NOT_OBJECT', message: `the record is ${describeJsonType(record)}, not a JSON object${hints ? arrayHint(line, text) : ''}`, key: null, raw: text };
  }
  return keyedEvent(line, end, record, value, options.deriveKey, () => parseExact(text));
}

/**
 * A large line that is a valid object with a key, found from its skeleton without decoding the
 * whole line (see json-skeleton.ts); null for anything else, which readRecord then reports.
 */
function readLargeRecord(line: number, end: number, value: Buffer, options: ReaderOptions): ReadEvent | null {
  const ascii = isAscii(value);
  if (!ascii && !isUtf8(value)) return null;
  const skeleton = jsonSkeleton(value, ascii);
  if (skeleton === null) return null;
  let record: unknown;
  try {
    record = JSON.parse(skeleton);
  } catch {
    return null;
  }
  if (!isObject(record)) return null;
  // The skeleton keeps numbers verbatim, so it serves for exact number keys too.
  const event = keyedEvent(line, end, record, value, options.deriveKey, () => parseExact(skeleton));
  return event.kind === 'record' ? event : null;
}

/** A file that opens with `[` is most likely one JSON array, not NDJSON: say so once, at line 1. */
function arrayHint(line: number, text: string): string {
  if (line !== 1 || !text.startsWith('[')) return '';
  return ' (this is read as NDJSON, one JSON object per line; a JSON array is read with --format json)';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a;
}

function trimWhitespace(bytes: Buffer): Buffer {
  let start = 0;
  let end = bytes.length;
  while (start < end && isSpace(bytes[start])) start++;
  while (end > start && isSpace(bytes[end - 1])) end--;
  return start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
}
