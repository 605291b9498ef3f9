import { jsonTextEvent } from './ndjson-reader.js';
import { JsonSplitter, type JsonPosition } from './json-values.js';
import type { LineBuffers } from './line-buffers.js';
import { tooLarge, type ReadEvent, type ReaderOptions } from './records.js';
import { BACKSLASH, QUOTE } from './bytes.js';

/**
 * JSON text as records (`--format json`): the elements of a top-level array, or top-level values
 * one after another. Each is checked like an NDJSON line and fails alone, at the line where it
 * starts. The stored value is the element's text as it stands in the input, except that an
 * element spanning several lines loses the white space between its tokens, so that every stored
 * value is one line (as `export` prints it) and strings and numbers keep their exact text.
 * A break in the structure is one failure for the rest of the input, which is not read further;
 * it leaves the watermark before it (`rest`). An input that ends inside a value or the array may
 * be a file still being written: that break is `unterminated`, which `--resume` leaves for its
 * next run, like an NDJSON line with no line end yet.
 * `from`: the chunks start at that position, just past a value (see readFrom in source.ts).
 */
export async function* readJson(chunks: AsyncIterable<Buffer>, options: ReaderOptions, from?: JsonPosition): AsyncGenerator<ReadEvent[]> {
  const splitter = new JsonSplitter(options.maxRecordBytes, options.lineBuffers, from);
  let end = from?.bytes ?? 0;
  for await (const chunk of chunks) {
    end += chunk.length;
    const events = toEvents(splitter.feed(chunk), options, end);
    if (events.length > 0) yield events;
    const last = events.at(-1);
    if (last?.kind === 'failure' && last.rest) return;
  }
  const events = toEvents(splitter.finish(), options, end);
  if (events.length > 0) yield events;
}

function toEvents(pieces: ReturnType<JsonSplitter['feed']>, options: ReaderOptions, readSoFar: number): ReadEvent[] {
  const events: ReadEvent[] = [];
  for (const piece of pieces) {
    if (piece.kind === 'break') {
      events.push({ kind: 'failure', line: piece.line, end: readSoFar, code: 'E_PARSE', message: piece.message, key: null, raw: piece.raw, rest: true, unterminated: piece.atEnd || undefined });
      continue;
    }
    const { line, endLine, end } = piece;
    if (piece.bytes === null) {
      events.push({ ...tooLarge(line, end, piece.size, options.maxRecordBytes), endLine });
      continue;
    }
    const value = endLine > line ? compactJson(piece.bytes, options.lineBuffers) : piece.bytes;
    const event = jsonTextEvent(line, end, value, options, { hints: false });
    event.endLine = endLine;
    if (event.kind === 'record') options.lineBuffers?.lend(event.value);
    events.push(event);
  }
  return events;
}

/** `bytes` (one whole value) without white space outside its strings; the original goes back to `buffers`. */
export function compactJson(bytes: Buffer, buffers?: LineBuffers): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  let length = 0;
  let inString = false;
  let escaped = false;
  for (let at = 0; at < bytes.length; at++) {
    const c = bytes[at]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === BACKSLASH) escaped = true;
      else if (c === QUOTE) inString = false;
    } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    else if (c === QUOTE) inString = true;
    out[length++] = c;
  }
  buffers?.release(bytes);
  return out.subarray(0, length);
}
