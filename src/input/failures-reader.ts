import { parseExact } from './exact-numbers.js';
import { decodeUtf8, readLines } from './line-reader.js';
import { describeJsonType, keyedEvent, tooLarge, type ReadEvent, type ReaderOptions } from './records.js';

/**
 * The records of a failures file, for `bwrite retry`: each entry's `record`, or its `raw` text
 * when that is (perhaps after a hand edit) a JSON object. The entry's key is kept when it has one.
 */
export async function* readFailures(chunks: AsyncIterable<Buffer>, options: ReaderOptions): AsyncGenerator<ReadEvent[]> {
  for await (const lines of readLines(chunks, options.maxRecordBytes)) {
    const events: ReadEvent[] = [];
    for (const { line, bytes, size, end } of lines) {
      if (bytes === null) {
        events.push(tooLarge(line, end, size, options.maxRecordBytes));
        continue;
      }
      const text = decodeUtf8(bytes);
      if (text === null) {
        events.push({ kind: 'failure', line, end, code: 'E_INVALID_UTF8', message: 'the line is not valid UTF-8', key: null, raw: null });
        continue;
      }
      if (text.trim() === '') continue;
      let entry: { key?: unknown; record?: unknown; raw?: unknown };
      try {
        entry = JSON.parse(text);
      } catch (error) {
        events.push({ kind: 'failure', line, end, code: 'E_PARSE', message: `not a failures-file entry: ${(error as Error).message}`, key: null, raw: text });
        continue;
      }
      let record = entry?.record;
      if (record === undefined && typeof entry?.raw === 'string') {
        try {
          record = JSON.parse(entry.raw);
        } catch (error) {
          events.push({ kind: 'failure', line, end, code: 'E_PARSE', message: `the entry's raw text is not valid JSON: ${(error as Error).message}`, key: null, raw: entry.raw });
          continue;
        }
      }
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        events.push({ kind: 'failure', line, end, code: 'E_NOT_OBJECT', message: `the entry's record is ${describeJsonType(record)}, not a JSON object`, key: null, raw: text });
        continue;
      }
      // The raw text as it is (an entry has raw rather than record when the record would lose digits).
      const value = Buffer.from(entry.record === undefined ? (entry.raw as string).trim() : JSON.stringify(record), 'utf8');
      const storedKey = typeof entry.key === 'string' && entry.key !== '' ? entry.key : null;
      const deriveKey = storedKey === null ? options.deriveKey : () => ({ key: storedKey });
      const exact = () => {
        const parsed = parseExact(text) as { record?: unknown; raw?: unknown } | null;
        return entry.record === undefined && typeof parsed?.raw === 'string' ? parseExact(parsed.raw) : parsed?.record;
      };
      events.push(keyedEvent(line, end, record as Record<string, unknown>, value, deriveKey, exact));
    }
    if (events.length > 0) yield events;
  }
}
