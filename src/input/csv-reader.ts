import { splitFields } from './csv-fields.js';
import { splitCsvRecords, type CsvRecord } from './csv-records.js';
import { encodingLabel } from './encoding.js';
import { decodeLossy, decodeUtf8 } from './line-reader.js';
import { keyedEvent, tooLarge, type FailureEvent, type ReadEvent, type ReaderOptions } from './records.js';

export interface CsvOptions extends ReaderOptions {
  delimiter: string;
  /** TSV has no quoting: a quote is an ordinary character. */
  quoting: boolean;
  /** A quote inside an unquoted field is data, not an error (`--relax-quotes`). */
  relaxQuotes?: boolean;
  /** Column names when the input has no header row. */
  columns: string[] | null;
  inferTypes: boolean;
}

/**
 * CSV or TSV rows as JSON objects keyed by the header, a chunk's worth at a time. Records are
 * found by csv-records.ts (bounded memory, every line end), then each is decoded and split here
 * on its own, so a bad row fails once, at the line where it starts, and the next row is read.
 */
export async function* readCsv(chunks: AsyncIterable<Buffer>, options: CsvOptions): AsyncGenerator<ReadEvent[]> {
  let header = options.columns;
  for await (const records of splitCsvRecords(chunks, options)) {
    const events: ReadEvent[] = [];
    for (const record of records) {
      const row = readRow(record, options);
      if ('kind' in row) {
        events.push(row);
      } else if (header === null) {
        const problem = headerProblem(row.fields);
        if (problem) {
          events.push(failure(record, 'E_CSV', `${problem}; no row of this file can be imported`, row.text));
          yield events;
          return;
        }
        header = row.fields;
      } else if (row.fields.length !== header.length) {
        events.push(failure(record, 'E_CSV_COLUMNS', `the row has ${row.fields.length} fields, the header ${header.length}`, row.text));
      } else {
        const object = toObject(header, row.fields, options.inferTypes);
        const fields = row.fields;
        const columns = header;
        // An inferred number that is not a safe integer (1.50) is keyed by its field's text.
        const exact = options.inferTypes ? () => toObject(columns, fields, false) : undefined;
        const event = keyedEvent(record.line, record.end, object, Buffer.from(JSON.stringify(object), 'utf8'), options.deriveKey, exact);
        if (record.unterminated) event.unterminated = true;
        events.push(event);
      }
    }
    if (events.length > 0) yield events;
  }
}

/** A record's fields, or the failure that keeps it from having any. */
function readRow(record: CsvRecord, options: CsvOptions): { fields: string[]; text: string } | FailureEvent {
  if (record.unclosed) {
    const message = `a quoted field opened in this row is never closed, so the rest of the input (${record.size} bytes) was read as part of it; close the quote`;
    return failure(record, 'E_CSV', message, record.bytes && decodeLossy(record.bytes));
  }
  if (record.bytes === null) return { ...tooLarge(record.line, record.end, record.size, options.maxRecordBytes), unterminated: record.unterminated };
  const text = decodeUtf8(record.bytes);
  if (text === null) return failure(record, 'E_INVALID_UTF8', `the row is not valid ${encodingLabel(options.encoding?.())}`, decodeLossy(record.bytes));
  const split = splitFields(text, options.delimiter, options.quoting, options.relaxQuotes);
  if ('error' in split) return failure(record, 'E_CSV', split.error, text);
  return { fields: split.fields, text };
}

/** A last record with no line end may still be being written: --resume reads it again. */
function failure(record: CsvRecord, code: FailureEvent['code'], message: string, raw: string | null): FailureEvent {
  return { kind: 'failure', line: record.line, end: record.end, code, message, key: null, raw, unterminated: record.unterminated };
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
