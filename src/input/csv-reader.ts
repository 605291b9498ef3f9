import { parse, type Parser } from 'csv-parse';
import { decodeLossy, decodeUtf8, readLines } from './line-reader.js';
import { drained } from './drain.js';
import { keyedEvent, tooLarge, type FailureEvent, type ReadEvent, type ReaderOptions } from './records.js';

export interface CsvOptions extends ReaderOptions {
  delimiter: string;
  /** TSV has no quoting: a quote is an ordinary character. */
  quoting: boolean;
  /** Column names when the input has no header row. */
  columns: string[] | null;
  inferTypes: boolean;
}

interface ParsedRow {
  record: string[];
  info: { lines: number };
  raw: string;
}

/**
 * CSV or TSV rows as JSON objects keyed by the header. Lines are split (and checked for UTF-8)
 * here, then handed to csv-parse with their original line ends, so quoted fields may span lines
 * and every record keeps the number of the line where it starts.
 */
export async function* readCsv(chunks: AsyncIterable<Buffer>, options: CsvOptions): AsyncGenerator<ReadEvent[]> {
  const parser: Parser = parse({
    delimiter: options.delimiter,
    quote: options.quoting ? '"' : false,
    record_delimiter: ['\r\n', '\n'],
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: options.maxRecordBytes,
    info: true,
    raw: true,
  });
  const badUtf8 = new Set<number>();
  // Byte offset past each line handed to the parser and not yet part of a record.
  const lineEnds = new Map<number, number>();
  // Their text, so a record the parser gives up on (an unclosed quote) can be shown whole.
  const lineTexts = new Map<number, string>();
  let lastEnd = 0;
  const pending: ReadEvent[] = [];
  parser.on('skip', (error: Error & { lines?: number }) => {
    pending.push(csvFailure(error, lineEnds, lineTexts, lastEnd));
  });
  const feeding = (async () => {
    try {
      for await (const lines of readLines(chunks, options.maxRecordBytes)) {
        let text = '';
        for (const { line, bytes, size, crlf, end } of lines) {
          lineEnds.set(line, end);
          lastEnd = end;
          if (bytes === null) {
            pending.push(tooLarge(line, end, size, options.maxRecordBytes));
            text += '\n';
            continue;
          }
          let decoded = decodeUtf8(bytes);
          if (decoded === null) {
            badUtf8.add(line);
            decoded = decodeLossy(bytes);
          }
          lineTexts.set(line, decoded);
          text += crlf ? `${decoded}\r\n` : `${decoded}\n`;
        }
        if (!parser.write(text)) await drained(parser);
        if (parser.destroyed) return;
      }
      parser.end();
    } catch (error) {
      parser.destroy(error as Error);
    }
  })();

  let header = options.columns;
  let events: ReadEvent[] = [];
  try {
    for await (const row of parser as AsyncIterable<ParsedRow>) {
      if (pending.length > 0) events.push(...pending.splice(0));
      const endLine = row.info.lines;
      const line = endLine - countNewlines(row.record);
      const end = lineEnds.get(endLine) ?? lastEnd;
      for (const fed of lineEnds.keys()) {
        if (fed > endLine) break;
        lineEnds.delete(fed);
        lineTexts.delete(fed);
      }
      const raw = row.raw.replace(/^[\r\n]+|[\r\n]+$/g, '');
      if (rangeHas(badUtf8, line, endLine)) {
        events.push({ kind: 'failure', line, end, code: 'E_INVALID_UTF8', message: 'the row is not valid UTF-8', key: null, raw });
      } else if (header === null) {
        const problem = headerProblem(row.record);
        if (problem) {
          events.push({ kind: 'failure', line, end, code: 'E_CSV', message: `${problem}; no row of this file can be imported`, key: null, raw });
          break;
        }
        header = row.record;
      } else if (row.record.length !== header.length) {
        events.push({ kind: 'failure', line, end, code: 'E_CSV_COLUMNS', message: `the row has ${row.record.length} fields, the header ${header.length}`, key: null, raw });
      } else {
        const record = toObject(header, row.record, options.inferTypes);
        const fields = row.record;
        const columns = header;
        // An inferred number that is not a safe integer (1.50) is keyed by its field's text.
        const exact = options.inferTypes ? () => toObject(columns, fields, false) : undefined;
        events.push(keyedEvent(line, end, record, Buffer.from(JSON.stringify(record), 'utf8'), options.deriveKey, exact));
      }
      if (events.length >= 256) {
        yield events;
        events = [];
      }
    }
  } catch (error) {
    events.push(...pending.splice(0));
    events.push(csvFailure(error, lineEnds, lineTexts, lastEnd));
  } finally {
    parser.destroy();
    await feeding;
  }
  events.push(...pending.splice(0));
  if (events.length > 0) yield events;
}

/**
 * A record the parser gave up on (an unclosed quote, an oversized record): it starts at the first
 * non-empty line not yet part of a record, and its lines are shown whole.
 */
function csvFailure(error: unknown, lineEnds: Map<number, number>, lineTexts: Map<number, string>, lastEnd: number): FailureEvent {
  const { message, lines, code } = error as Error & { lines?: number; code?: string };
  const upTo = lines ?? Number.MAX_SAFE_INTEGER;
  const taken = [...lineTexts.entries()].filter(([line]) => line <= upTo);
  const first = taken.find(([, text]) => text !== '');
  const raw = first ? taken.filter(([line]) => line >= first[0]).map(([, text]) => text).join('\n') : null;
  const end = taken.length > 0 ? (lineEnds.get(taken.at(-1)![0]) ?? lastEnd) : lastEnd;
  for (const [line] of taken) {
    lineTexts.delete(line);
    lineEnds.delete(line);
  }
  return { kind: 'failure', line: first?.[0] ?? lines ?? 0, end, code: code === 'E_READ' ? 'E_READ' : 'E_CSV', message, key: null, raw };
}

function headerProblem(names: string[]): string | null {
  const seen = new Set<string>();
  for (const name of names) {
    if (name === '') return 'the header has an empty column name';
    if (seen.has(name)) return `the header names column '${name}' twice`;
    seen.add(name);
  }
  return null;
}

/** A null-prototype object, so a column named `__proto__` is just a field. */
function toObject(header: string[], fields: string[], inferTypes: boolean): Record<string, unknown> {
  const record = Object.create(null) as Record<string, unknown>;
  for (let i = 0; i < header.length; i++) {
    const field = fields[i]!;
    record[header[i]!] = inferTypes ? inferType(field) : field;
  }
  return record;
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Numbers, booleans and empty-as-null; anything that would not survive the trip stays a string. */
export function inferType(field: string): unknown {
  if (field === '') return null;
  if (field === 'true') return true;
  if (field === 'false') return false;
  if (NUMBER.test(field)) {
    const number = Number(field);
    if (Number.isFinite(number) && (!/^-?\d+$/.test(field) || Number.isSafeInteger(number)) && decimalDigits(field) === decimalDigits(String(number))) return number;
  }
  return field;
}

/**
 * A number's decimal value as sign, significant digits and exponent (`1.50` and `15e-1` are both
 * `15e-1`): a field becomes a number only if the number prints back to the same value, so
 * `9007199254740993.0` or `1e-400` stay strings instead of losing digits.
 */
function decimalDigits(text: string): string {
  const match = /^(-?)(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?$/.exec(text)!;
  const digits = (match[2]! + match[3]!).replace(/^0+/, '');
  if (digits === '') return '0';
  const significant = digits.replace(/0+$/, '');
  const exponent = Number(match[4] ?? 0) - match[3]!.length + (digits.length - significant.length);
  return `${match[1]}${significant}e${exponent}`;
}

function countNewlines(fields: string[]): number {
  let count = 0;
  for (const field of fields) {
    for (let i = field.indexOf('\n'); i !== -1; i = field.indexOf('\n', i + 1)) count++;
  }
  return count;
}

function rangeHas(lines: Set<number>, from: number, to: number): boolean {
  if (lines.size === 0) return false;
  for (let line = from; line <= to; line++) if (lines.has(line)) return true;
  return false;
}
