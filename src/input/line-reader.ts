import { isAscii } from 'node:buffer';
import { LineBuffers } from './line-buffers.js';
import { CR, LF } from './bytes.js';
/** One physical line of input, without its line end (`\n` or `\r\n`). */
export interface RawLine {
  /** 1-based line number in the (decompressed) input. */
  line: number;
  /** The line's bytes; null when it was longer than the limit (then only `size` is known). */
  bytes: Buffer | null;
  size: number;
  /** Byte offset just past this line's end in the (decompressed) input. */
  end: number;
  /** The line ended in `\r\n` (CSV keeps it inside a quoted field). */
  crlf?: boolean;
  /** The last line of the input, with no line end: perhaps still being written. */
  unterminated?: boolean;
}

/** Where reading starts in an input: just past line `line`, which ends at byte offset `bytes`. */
export interface LinePosition {
  line: number;
  bytes: number;
}

/**
 * Splits a byte stream into lines, a chunk's worth at a time. A line longer than `maxLineBytes`
 * is never buffered whole: its bytes are dropped as they arrive and it is reported by size.
 * A UTF-8 byte-order mark at the very start is dropped. A chunk is not looked at again once the
 * next one is asked for. A line that lies inside one chunk read into `buffers.readBuffer` is a view
 * of it, and the caller lends what it keeps (LineBuffers.lend) so that the chunk is not read into
 * again meanwhile; every other line is a copy (long ones into buffers from `buffers`, to which the
 * caller may give them back), so any other chunk's buffer may be reused for the next read.
 * `from`: the chunks start there, not at the start of the input (lines and offsets count on from it).
 */
export async function* readLines(chunks: AsyncIterable<Buffer>, maxLineBytes: number, buffers = new LineBuffers(), from?: LinePosition): AsyncGenerator<RawLine[]> {
  const carried = new LineStart(buffers);
  let partBytes = 0;
  let oversize = false;
  let line = from ? from.line + 1 : 1;
  let first = !from;
  let base = from ? from.bytes : 0;
  for await (let chunk of chunks) {
    if (first) {
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
        chunk = chunk.subarray(3);
        base = 3;
      }
      first = false;
    }
    const lines: RawLine[] = [];
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(LF, start);
      if (end === -1) {
        const tail = chunk.length - start;
        if (tail > 0) {
          if (!oversize && partBytes + tail > maxLineBytes + 1) {
            oversize = true;
            carried.clear();
          }
          if (!oversize) carried.append(chunk.subarray(start));
          partBytes += tail;
        }
        break;
      }
      const size = partBytes + (end - start);
      if (oversize || size > maxLineBytes + 1) {
        lines.push({ line, bytes: null, size: stripCrSize(size, chunk, end), end: base + end + 1 });
      } else {
        const bytes = carried.take(chunk.subarray(start, end));
        const crlf = bytes.length > 0 && bytes[bytes.length - 1] === CR;
        const trimmed = crlf ? bytes.subarray(0, bytes.length - 1) : bytes;
        const lineEnd = base + end + 1;
        if (trimmed.length > maxLineBytes) lines.push({ line, bytes: null, size: trimmed.length, end: lineEnd });
        else lines.push(crlf ? { line, bytes: trimmed, size: trimmed.length, end: lineEnd, crlf } : { line, bytes: trimmed, size: trimmed.length, end: lineEnd });
      }
      carried.clear();
      partBytes = 0;
      oversize = false;
      line++;
      start = end + 1;
    }
    base += chunk.length;
    if (lines.length > 0) yield lines;
  }
  if (partBytes > 0 || oversize) {
    if (oversize || partBytes > maxLineBytes + 1) {
      yield [{ line, bytes: null, size: partBytes, end: base, unterminated: true }];
    } else {
      const bytes = carried.take(EMPTY);
      const trimmed = bytes[bytes.length - 1] === CR ? bytes.subarray(0, bytes.length - 1) : bytes;
      yield [{ line, bytes: trimmed.length > maxLineBytes ? null : trimmed, size: trimmed.length, end: base, unterminated: true }];
    }
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * A line as it is read, copied straight into the buffer it will be handed out in: a line begun in
 * an earlier chunk is given a buffer as large as the last such line (lines of one input tend to
 * be alike), so a long line is copied once, not once into a start buffer and again whole.
 * Buffers come from `buffers`, which has them back once the line's batch is written (see
 * line-buffers.ts), as fresh memory is paid for in page faults.
 */
export class LineStart {
  /** The line so far, at its start; its length is the room there is. */
  private buffer: Buffer = EMPTY;
  private length = 0;
  private lastSize = 0;
  private readonly buffers: LineBuffers;

  constructor(buffers: LineBuffers) {
    this.buffers = buffers;
  }

  append(bytes: Buffer): void {
    const needed = this.length + bytes.length;
    // As large as the last such line, but at most 8 × what there is yet: one huge line must not
    // make every later short line hold a buffer of its size.
    if (needed > this.buffer.length) this.grow(Math.max(needed, Math.min(this.lastSize, 8 * needed), 2 * this.buffer.length));
    bytes.copy(this.buffer, this.length);
    this.length = needed;
  }

  /** The line so far followed by `rest`, as a buffer of its own; the start is then cleared. */
  take(rest: Buffer): Buffer {
    const size = this.length + rest.length;
    if (this.length === 0) {
      // A read buffer of the pool is not read into again while a record lent from it is out.
      if (this.buffers.isReadBuffer(rest)) return rest;
      const line = this.buffers.take(size);
      rest.copy(line);
      return line;
    }
    if (size > this.buffer.length) this.grow(size);
    rest.copy(this.buffer, this.length);
    const line = this.buffer.subarray(0, size);
    this.lastSize = size;
    this.buffer = EMPTY;
    this.length = 0;
    return line;
  }

  /** Drops the line so far (it was over the limit). */
  clear(): void {
    if (this.buffer !== EMPTY) this.buffers.release(this.buffer);
    this.buffer = EMPTY;
    this.length = 0;
  }

  private grow(room: number): void {
    const grown = this.buffers.take(room);
    this.buffer.copy(grown, 0, 0, this.length);
    if (this.buffer !== EMPTY) this.buffers.release(this.buffer);
    this.buffer = grown;
  }
}

function stripCrSize(size: number, chunk: Buffer, end: number): number {
  return end > 0 && chunk[end - 1] === CR ? size - 1 : size;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * The text of `bytes`, or null when they are not valid UTF-8 (never silently replaced). ASCII,
 * the common case, is checked and copied without the decoder, which is much faster on long lines.
 */
export function decodeUtf8(bytes: Uint8Array): string | null {
  if (isAscii(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

/** For messages and the failures file only: invalid sequences shown as U+FFFD. */
export function decodeLossy(bytes: Uint8Array): string {
  return lossy.decode(bytes);
}
