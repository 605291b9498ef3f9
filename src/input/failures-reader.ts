import { parseExact } from './exact-numbers.js';
import { decodeLossy, decodeUtf8, readLines } from './line-reader.js';
import { describeJsonType, invalidUtf8, keyedEvent, tooLarge, type Origin, type ReadEvent, type ReaderOptions } from './records.js';

/**
 * The records of a failures file, for `bwrite retry`: each entry's `record`, or its `raw` text
 * when that is (perhaps after a hand edit) a JSON object. The entry's key is kept when it has one,
 * and so are its source and line: a record that fails again is reported where it came from.
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
      let entry: { key?: unknown; record?: unknown; raw?: unknown; rawBase64?: unknown; source?: unknown; line?: unknown; run?: unknown };
      try {
        entry = JSON.parse(text);
      } catch (error) {
        events.push({ kind: 'failure', line, end, code: 'E_PARSE', message: `not a failures-file entry: ${(error as Error).message}`, key: null, raw: text });
        continue;
      }
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        events.push({ kind: 'failure', line, end, code: 'E_NOT_OBJECT', message: `not a failures-file entry: the line is ${describeJsonType(entry)}, not a JSON object`, key: null, raw: text });
        continue;
      }
      const origin = originOf(entry, options);
      const raw = typeof entry.raw === 'string' ? entry.raw : null;
      // Bytes that were not UTF-8 stay so until someone fixes `raw` by hand: never stored with U+FFFD.
      if (entry.record === undefined && typeof entry.rawBase64 === 'string') {
        const bytes = Buffer.from(entry.rawBase64, 'base64');
        if (decodeLossy(bytes) === raw) {
          events.push({ ...invalidUtf8(line, end, bytes, 'the record is not valid UTF-8 (fix its raw text in the failures file to import it)'), origin });
          continue;
        }
      }
      let record = entry.record;
      if (record === undefined) {
        if (raw === null) {
          events.push({ kind: 'failure', line, end, code: 'E_NOT_OBJECT', message: 'the entry has neither a record nor its raw text', key: null, raw: text, origin });
          continue;
        }
        try {
          record = JSON.parse(raw);
        } catch (error) {
          events.push({ kind: 'failure', line, end, code: 'E_PARSE', message: `the entry's raw text is not valid JSON: ${(error as Error).message}`, key: null, raw, origin });
          continue;
        }
      }
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        events.push({ kind: 'failure', line, end, code: 'E_NOT_OBJECT', message: `the entry's record is ${describeJsonType(record)}, not a JSON object`, key: null, raw: raw ?? JSON.stringify(record), origin });
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
      const event = keyedEvent(line, end, record as Record<string, unknown>, value, deriveKey, exact);
      if (origin) event.origin = origin;
      events.push(event);
    }
    if (events.length > 0) yield events;
  }
}

/** The entry's own source, line and run, when it names them (a hand-written entry may not). */
function originOf(entry: { source?: unknown; line?: unknown; run?: unknown }, options: ReaderOptions): Origin | undefined {
  if (typeof entry.source !== 'string' || entry.source === '') return undefined;
  const origin: Origin = { source: entry.source, line: typeof entry.line === 'number' && Number.isInteger(entry.line) && entry.line > 0 ? entry.line : null };
  if (typeof entry.run === 'string' && entry.run !== '') {
    origin.run = entry.run;
    const run = options.runInfo?.(entry.run) ?? null;
    if (run !== null) origin.runInfo = run;
  }
  return origin;
}
