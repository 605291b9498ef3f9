import { decodeLossy, decodeUtf8, readLines } from './line-reader.js';
import { describeJsonType, keyedEvent, tooLarge, type ReadEvent, type ReaderOptions } from './records.js';

/**
 * NDJSON records, a chunk's worth at a time. The stored value is the record's JSON text as it
 * stands in the input (surrounding white space removed): numbers keep their exact digits.
 */
export async function* readNdjson(chunks: AsyncIterable<Buffer>, options: ReaderOptions): AsyncGenerator<ReadEvent[]> {
  for await (const lines of readLines(chunks, options.maxRecordBytes)) {
    const events: ReadEvent[] = [];
    for (const { line, bytes, size, end, unterminated } of lines) {
      if (bytes === null) {
        events.push(tooLarge(line, end, size, options.maxRecordBytes));
        continue;
      }
      const value = trimWhitespace(bytes);
      if (value.length === 0) continue;
      const text = decodeUtf8(value);
      if (text === null) {
        events.push({ kind: 'failure', line, end, code: 'E_INVALID_UTF8', message: 'the line is not valid UTF-8', key: null, raw: decodeLossy(value), unterminated });
        continue;
      }
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch (error) {
        const reason = error instanceof RangeError ? 'nested too deeply' : (error as Error).message;
        events.push({ kind: 'failure', line, end, code: 'E_PARSE', message: `not valid JSON: ${reason}`, key: null, raw: text, unterminated });
        continue;
      }
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        events.push({ kind: 'failure', line, end, code: 'E_NOT_OBJECT', message: `the record is ${describeJsonType(record)}, not a JSON object`, key: null, raw: text });
        continue;
      }
      events.push(keyedEvent(line, end, record as Record<string, unknown>, value, options.deriveKey));
    }
    if (events.length > 0) yield events;
  }
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
