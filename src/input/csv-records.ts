import { CR, LF, QUOTE } from './bytes.js';

/** One CSV or TSV record (a row, perhaps spanning lines inside quotes), not yet split into fields. */
export interface CsvRecord {
  /** 1-based line where the record starts. */
  line: number;
  /** Byte offset just past the record's line end in the (decompressed) input. */
  end: number;
  /** The record's bytes without its line end; null when it was over the limit. */
  bytes: Buffer | null;
  size: number;
  /** The input ended inside a quoted field: the quote was never closed. */
  unclosed?: boolean;
  /** The input ended before the record's line end: a writer may still be appending to it. */
  unterminated?: boolean;
}

export interface SplitOptions {
  /** The field delimiter, one character (perhaps several UTF-8 bytes). */
  delimiter: string;
  /** CSV quotes fields; TSV does not. */
  quoting: boolean;
  maxRecordBytes: number;
}

const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** A quote inside a quoted field: it closes the field, or is the first of a doubled `""`. */
const QUOTE_SEEN = 3;

/**
 * Splits a byte stream into CSV records, a chunk's worth at a time, by the rules csv-parse and
 * spreadsheets use: a quote opens a quoted field only at the start of a field, and inside one
 * line ends are data. `\n`, `\r\n` and a lone `\r` all end a line. A record over the limit is
 * never buffered whole: its bytes are dropped as they arrive while its end is still sought, so
 * an unclosed quote or a 1 GB field costs a scan, not memory. Blank lines are skipped. Records
 * are copies: a chunk's buffer may be reused once the next chunk is pushed.
 */
export class CsvRecordSplitter {
  private readonly delimiter: Buffer;
  private state = FIELD_START;
  private delimiterMatched = 0;
  private line = 1;
  private recordLine = 1;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private oversize = false;
  /** The last byte was a CR: a LF now belongs to the same line end. */
  private afterCr = false;
  /** A record ended by a CR at the end of a chunk: its end moves past a LF that may follow. */
  private held: CsvRecord | null = null;
  private base = 0;
  private first = true;

  constructor(private readonly options: SplitOptions) {
    this.delimiter = Buffer.from(options.delimiter, 'utf8');
  }

  push(input: Buffer): CsvRecord[] {
    if (input.length === 0) return [];
    let chunk = input;
    if (this.first) {
      this.first = false;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
        chunk = chunk.subarray(3);
        this.base = 3;
      }
    }
    const out: CsvRecord[] = [];
    const { delimiter, options } = this;
    const quoting = options.quoting;
    let { state, delimiterMatched, line, afterCr } = this;
    let from = 0;
    if (this.held) {
      if (chunk[0] === LF) {
        this.held.end++;
        from = 1;
        afterCr = false;
      }
      out.push(this.held);
      this.held = null;
    }
    for (let i = from; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === LF || byte === CR) {
        const crlf = byte === LF && afterCr;
        afterCr = byte === CR;
        if (crlf) {
          // The LF of a CRLF: the CR already counted the line, and ended the record if it could.
          if (state !== QUOTED) from = i + 1;
          if (out.length > 0 && out[out.length - 1]!.end === this.base + i) out[out.length - 1]!.end++;
          continue;
        }
        line++;
        if (state === QUOTED) continue;
        this.line = line;
        const record = this.endRecord(chunk, from, i, i + 1);
        if (record) {
          if (byte === CR && i === chunk.length - 1) this.held = record;
          else out.push(record);
        }
        state = FIELD_START;
        delimiterMatched = 0;
        from = i + 1;
        continue;
      }
      afterCr = false;
      if (quoting && byte === QUOTE) {
        // In an unquoted field a quote is stray: it stays there for the field parser to report.
        if (state === FIELD_START || state === QUOTE_SEEN) state = QUOTED;
        else if (state === QUOTED) state = QUOTE_SEEN;
        delimiterMatched = 0;
        continue;
      }
      if (state === QUOTED) continue;
      if (byte === delimiter[delimiterMatched]) {
        delimiterMatched++;
        if (delimiterMatched === delimiter.length) {
          delimiterMatched = 0;
          state = FIELD_START;
          continue;
        }
      } else {
        delimiterMatched = byte === delimiter[0] ? 1 : 0;
      }
      state = UNQUOTED;
    }
    this.state = state;
    this.delimiterMatched = delimiterMatched;
    this.line = line;
    this.afterCr = afterCr;
    this.keep(chunk, from);
    this.base += chunk.length;
    return out;
  }

  /** The record still open when the input ends, if any. */
  finish(): CsvRecord[] {
    const out: CsvRecord[] = this.held ? [this.held] : [];
    this.held = null;
    if (this.partBytes > 0 || this.oversize || this.state === QUOTED) {
      const record = this.endRecord(Buffer.alloc(0), 0, 0, 0);
      if (record) out.push({ ...record, end: this.base, unterminated: true, ...(this.state === QUOTED ? { unclosed: true } : {}) });
    }
    return out;
  }

  /** Closes the record whose last bytes are chunk[from, to); null for a blank line. */
  private endRecord(chunk: Buffer, from: number, to: number, next: number): CsvRecord | null {
    const size = this.partBytes + (to - from);
    const oversize = this.oversize || size > this.options.maxRecordBytes;
    let bytes: Buffer | null = null;
    if (!oversize) bytes = this.parts.length === 0 ? Buffer.from(chunk.subarray(from, to)) : Buffer.concat([...this.parts, chunk.subarray(from, to)], size);
    const line = this.recordLine;
    this.parts = [];
    this.partBytes = 0;
    this.oversize = false;
    this.recordLine = this.line;
    if (size === 0 && !oversize) return null;
    return { line, end: this.base + next, bytes, size };
  }

  /** Keeps the open record's bytes of this chunk, unless that takes it over the limit. */
  private keep(chunk: Buffer, from: number): void {
    const tail = chunk.length - from;
    if (tail === 0) return;
    this.partBytes += tail;
    if (this.oversize) return;
    if (this.partBytes > this.options.maxRecordBytes) {
      this.oversize = true;
      this.parts = [];
    } else {
      this.parts.push(Buffer.from(chunk.subarray(from)));
    }
  }
}

/** The records of a byte stream, a chunk's worth at a time. */
export async function* splitCsvRecords(chunks: AsyncIterable<Buffer>, options: SplitOptions): AsyncGenerator<CsvRecord[]> {
  const splitter = new CsvRecordSplitter(options);
  for await (const chunk of chunks) {
    const records = splitter.push(chunk);
    if (records.length > 0) yield records;
  }
  const rest = splitter.finish();
  if (rest.length > 0) yield rest;
}
