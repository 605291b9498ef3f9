import { LineBuffers } from './line-buffers.js';
import { decodeLossy, LineStart } from './line-reader.js';
import { BACKSLASH, LF, QUOTE } from './bytes.js';

/** One top-level JSON value, or one element of a top-level array: a record to be. */
export interface JsonValue {
  kind: 'value';
  /** 1-based line where the value starts, and where it ends. */
  line: number;
  endLine: number;
  /** The value's bytes, nothing around them; null when it was longer than the limit. */
  bytes: Buffer | null;
  size: number;
  /** Byte offset just past the value in the (decompressed) input. */
  end: number;
}

/** The input stops making sense as JSON: where values start and end is lost from here on. */
export interface JsonBreak {
  kind: 'break';
  /** Where what cannot be read starts: the value it broke in, or the stray character. */
  line: number;
  message: string;
  /** The start of what cannot be read, for the failures file. */
  raw: string;
  /** The input ended inside a value or the array: a writer may still be appending to it. */
  atEnd: boolean;
}

/** Where reading starts: byte `bytes` of the input, on line `line`, just past a value. */
export interface JsonPosition {
  line: number;
  bytes: number;
}

// Where the splitter is between values.
const TOP = 0; // outside the top-level array: a value, or `[` opening one, may come
const ARRAY_FIRST = 1; // just inside `[`: an element or `]`
const ARRAY_AFTER = 2; // after an element: `,` or `]`
const ARRAY_NEXT = 3; // after `,`: an element
const RESUMED = 4; // just past a value, read on from an offset: `,` or `]` say it is inside the array
const VALUE = 5;
const BROKEN = 6;

const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const RAW_SHOWN = 1024;

/**
 * Finds where each record starts and ends in a JSON text: the elements of a top-level array, or
 * top-level values one after another (pretty-printed, concatenated, or NDJSON). It only tracks
 * strings (with escapes) and brackets: each value is then parsed on its own like an NDJSON line,
 * so a bad element fails alone and keeps its exact text. The streaming JSON libraries measured were
 * too slow, or gave parsed values (numbers rounded) and stopped at the first syntax error
 * (bench/experiments/json-parsers.md).
 *
 * Bracket mismatches, stray commas and closers, and an input that ends inside a value or an
 * array lose the structure: one JsonBreak, and nothing more is read. Memory is bounded like
 * lines (see line-reader.ts): a value over `maxBytes` is not kept, only measured.
 */
export class JsonSplitter {
  private state = TOP;
  private line: number;
  private base: number;
  private first: boolean;
  /** The top-level array's opening line, when inside one. */
  private arrayLine = 0;
  private inArray = false;
  private readonly value: OpenValue = { line: 0, startInChunk: -1, size: 0, oversize: false, stack: [], inString: false, escaped: false, scalar: false };
  private readonly carried: LineStart;
  private shown: Buffer[] = [];
  private shownBytes = 0;
  private broken: JsonBreak | null = null;
  private readonly maxBytes: number;

  constructor(maxBytes: number, buffers: LineBuffers = new LineBuffers(), from?: JsonPosition) {
    this.maxBytes = maxBytes;
    this.carried = new LineStart(buffers);
    this.line = from?.line ?? 1;
    this.base = from?.bytes ?? 0;
    this.first = !from;
    if (from) this.state = RESUMED;
  }

  /** The values (and a break) that end in this chunk. The chunk is not looked at again after. */
  feed(input: Buffer): (JsonValue | JsonBreak)[] {
    let chunk = input;
    if (this.first) {
      this.first = false;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
        chunk = chunk.subarray(3);
        this.base += 3;
      }
    }
    // A read buffer comes back with other bytes in it: the line-end cursor starts afresh.
    this.newlineChunk = null;
    const out: (JsonValue | JsonBreak)[] = [];
    const length = chunk.length;
    let at = 0;
    while (at < length && this.state !== BROKEN) {
      if (this.state === VALUE) {
        const end = this.scanValue(chunk, at);
        if (end === MORE || end === BROKE) break;
        out.push(this.finishValue(chunk, end));
        at = end;
        continue;
      }
      const c = chunk[at]!;
      if (c === LF) this.line++;
      else if (c !== 0x20 && c !== 0x09 && c !== 0x0d) {
        const problem = this.between(c);
        if (problem !== null) this.breakAt(this.line, problem, chunk.subarray(at, at + RAW_SHOWN));
        else if (this.state === VALUE) this.startValue(c, at);
      }
      at++;
    }
    if (this.state === VALUE) this.keep(chunk);
    if (this.broken) {
      out.push(this.broken);
      this.broken = null;
    }
    this.base += length;
    return out;
  }

  /** The input ended: a last scalar ends with it, anything else still open is a break. */
  finish(): (JsonValue | JsonBreak)[] {
    if (this.state === VALUE && this.value.scalar) return [this.finishValue(EMPTY, 0)];
    if (this.state === VALUE) this.breakAt(this.value.line, `the input ends inside the value that starts at line ${this.value.line}`, Buffer.concat(this.shown), true);
    else if (this.state === ARRAY_FIRST || this.state === ARRAY_AFTER || this.state === ARRAY_NEXT) {
      this.breakAt(this.line, `the input ends inside the array that opens at line ${this.arrayLine}, with no closing ']'`, EMPTY, true);
    }
    const broken = this.broken;
    this.broken = null;
    return broken ? [broken] : [];
  }

  /** A byte between values: moves the state on, or says what is wrong with it there. */
  private between(c: number): string | null {
    const char = `'${String.fromCharCode(c)}'`;
    switch (this.state) {
      case RESUMED:
        this.inArray = c === COMMA || c === CLOSE_BRACKET;
        this.state = this.inArray ? ARRAY_AFTER : TOP;
        return this.between(c);
      case TOP:
        if (c === OPEN_BRACKET) {
          this.state = ARRAY_FIRST;
          this.arrayLine = this.line;
          this.inArray = true;
          return null;
        }
        this.inArray = false;
        return this.elementStart(c, `${char} where a value should start`);
      case ARRAY_FIRST:
        if (c === CLOSE_BRACKET) {
          this.state = TOP;
          return null;
        }
        return this.elementStart(c, `${char} where an element of the array should start`);
      case ARRAY_AFTER:
        if (c === COMMA) this.state = ARRAY_NEXT;
        else if (c === CLOSE_BRACKET) this.state = TOP;
        else return `${char} after an element of the array that opens at line ${this.arrayLine}, where ',' or ']' should be`;
        return null;
      default:
        if (c === CLOSE_BRACKET) return `']' right after a ',' in the array that opens at line ${this.arrayLine}`;
        return this.elementStart(c, `${char} where an element of the array should start`);
    }
  }

  private elementStart(c: number, problem: string): string | null {
    if (c === COMMA || c === CLOSE_BRACKET || c === CLOSE_BRACE) return problem;
    this.state = VALUE;
    return null;
  }

  /** Its first byte `c`, at `at`, is taken here; scanning goes on from the next one. */
  private startValue(c: number, at: number): void {
    const value = this.value;
    value.line = this.line;
    value.startInChunk = at;
    value.size = 0;
    value.oversize = false;
    value.stack.length = 0;
    value.inString = c === QUOTE;
    value.escaped = false;
    value.scalar = c !== QUOTE && c !== OPEN_BRACE && c !== OPEN_BRACKET;
    if (!value.scalar && !value.inString) value.stack.push(c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET);
  }

  /** Just past the value's end, MORE if it goes on past the chunk, BROKE if the structure broke. */
  private scanValue(chunk: Buffer, from: number): number {
    const value = this.value;
    const length = chunk.length;
    let at = from;
    if (value.scalar) {
      for (; at < length; at++) {
        const c = chunk[at]!;
        if (c <= 0x20 || c === COMMA || c === CLOSE_BRACKET || c === CLOSE_BRACE || c === OPEN_BRACKET || c === OPEN_BRACE || c === QUOTE) return at;
      }
      return MORE;
    }
    const stack = value.stack;
    let inString = value.inString;
    let escaped = value.escaped;
    let line = this.line;
    for (; at < length; at++) {
      if (inString) {
        const close = this.stringEnd(chunk, escaped ? at + 1 : at);
        line = this.line;
        escaped = false;
        if (close === MORE) {
          escaped = this.escapedAtEnd;
          at = length;
          break;
        }
        at = close;
        inString = false;
        if (stack.length === 0) break;
        continue;
      }
      const c = chunk[at]!;
      if (c === QUOTE) {
        inString = true;
        this.line = line;
      }
      else if (c === OPEN_BRACE) stack.push(CLOSE_BRACE);
      else if (c === OPEN_BRACKET) stack.push(CLOSE_BRACKET);
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (stack.pop() !== c) {
          this.line = line;
          this.breakInValue(chunk, at, `'${String.fromCharCode(c)}' at line ${line} closes what is not open there`);
          return BROKE;
        }
        if (stack.length === 0) break;
      } else if (c === LF) line++;
    }
    this.line = line;
    value.inString = inString;
    value.escaped = escaped;
    return at < length ? at + 1 : MORE;
  }

  /**
   * The closing quote of a string whose content goes on from `from`, found with indexOf rather
   * than byte by byte (strings are most of a record's bytes); MORE if it is not in this chunk
   * (then `escapedAtEnd` says whether the chunk ends inside an escape). Counts the line ends
   * passed, which only an invalid string has.
   */
  private stringEnd(chunk: Buffer, from: number): number {
    let at = from;
    for (;;) {
      const quote = chunk.indexOf(QUOTE, at);
      const stop = quote === -1 ? chunk.length : quote;
      this.countLines(chunk, at, stop);
      let slashes = 0;
      while (stop - slashes - 1 >= at && chunk[stop - slashes - 1] === BACKSLASH) slashes++;
      if (quote === -1) {
        this.escapedAtEnd = slashes % 2 === 1;
        return MORE;
      }
      if (slashes % 2 === 0) return quote;
      at = quote + 1;
    }
  }

  private escapedAtEnd = false;
  /** The next line end in the chunk at or after `newlineFrom`, or -1 (a cursor, so each is searched for once). */
  private newlineAt = -1;
  private newlineFrom = -1;
  private newlineChunk: Buffer | null = null;

  private countLines(chunk: Buffer, from: number, to: number): void {
    if (this.newlineChunk !== chunk || this.newlineFrom > from || (this.newlineAt !== -1 && this.newlineAt < from)) {
      this.newlineChunk = chunk;
      this.newlineAt = chunk.indexOf(LF, from);
    }
    this.newlineFrom = from;
    while (this.newlineAt !== -1 && this.newlineAt < to) {
      this.line++;
      this.newlineAt = chunk.indexOf(LF, this.newlineAt + 1);
    }
  }

  /** The value goes on past this chunk: its start so far is carried (or only counted, once too large). */
  private keep(chunk: Buffer): void {
    const value = this.value;
    const part = chunk.subarray(Math.max(value.startInChunk, 0));
    this.remember(part);
    if (!value.oversize && value.size + part.length > this.maxBytes) {
      value.oversize = true;
      this.carried.clear();
    }
    if (!value.oversize) this.carried.append(part);
    value.size += part.length;
    value.startInChunk = -1;
  }

  private finishValue(chunk: Buffer, end: number): JsonValue {
    const value = this.value;
    const begin = Math.max(value.startInChunk, 0);
    const size = value.size + (end - begin);
    let bytes: Buffer | null = null;
    if (value.oversize || size > this.maxBytes) this.carried.clear();
    else bytes = this.carried.take(chunk.subarray(begin, end));
    this.state = this.inArray ? ARRAY_AFTER : TOP;
    this.shown = [];
    this.shownBytes = 0;
    return { kind: 'value', line: value.line, endLine: this.line, bytes, size, end: this.base + end };
  }

  /** The first bytes of a value that goes on past a chunk, for a break's `raw`. */
  private remember(part: Buffer): void {
    if (this.shownBytes >= RAW_SHOWN) return;
    const kept = Buffer.from(part.subarray(0, RAW_SHOWN - this.shownBytes));
    this.shown.push(kept);
    this.shownBytes += kept.length;
  }

  private breakInValue(chunk: Buffer, at: number, problem: string): void {
    this.remember(chunk.subarray(Math.max(this.value.startInChunk, 0), at + 1));
    this.carried.clear();
    this.breakAt(this.value.line, `${problem}, in the value that starts at line ${this.value.line}`, Buffer.concat(this.shown));
  }

  private breakAt(line: number, problem: string, raw: Buffer, atEnd = false): void {
    this.state = BROKEN;
    const message = `not valid JSON: ${problem}; the rest of the input, from line ${line}, cannot be split into records and is not read: fix it, then import again with --resume to read on from there`;
    this.broken = { kind: 'break', line, message, raw: decodeLossy(raw.subarray(0, RAW_SHOWN)), atEnd };
  }
}

/** The value being read: where it started, and the strings and brackets open in it. */
interface OpenValue {
  line: number;
  /** Its start in the current chunk; -1 once it began in an earlier one (then it is carried). */
  startInChunk: number;
  /** Bytes of it in earlier chunks. */
  size: number;
  oversize: boolean;
  /** The closer each open bracket needs, innermost last. */
  stack: number[];
  inString: boolean;
  escaped: boolean;
  /** A number, true, false, null (or a stray word): it ends at white space or punctuation. */
  scalar: boolean;
}

const EMPTY = Buffer.alloc(0);
const MORE = -1;
const BROKE = -2;
