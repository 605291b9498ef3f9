import { isAscii } from 'node:buffer';

/** The names `--encoding` accepts; values are always stored as UTF-8. */
export const ENCODINGS = ['utf-8', 'latin1', 'iso-8859-1', 'windows-1252', 'utf-16le', 'utf-16be'] as const;
export type InputEncoding = (typeof ENCODINGS)[number];

/** The encoding a byte-order mark at the start of `head` names, if any (a UTF-8 one is the readers' to skip). */
export function encodingFromBom(head: Uint8Array): InputEncoding | null {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return null;
}

/** How a line of this encoding is named when it cannot be read. */
export function encodingLabel(encoding: InputEncoding | undefined): string {
  return encoding === undefined ? 'UTF-8' : encoding.toUpperCase().replace(/^LATIN1$/, 'Latin-1');
}

/**
 * The input's bytes as UTF-8, chunk by chunk, so that the readers split lines and records on
 * UTF-8 text whatever the input's encoding (UTF-16 has 0x0A bytes inside other characters).
 * Transcoding keeps line ends one for one, so line numbers are those of the input. UTF-8 passes
 * through untouched: its invalid bytes stay for the readers to fail line by line. A UTF-16 code
 * unit that pairs with nothing becomes an 0xFF byte, never valid in UTF-8, so its line fails the
 * same way instead of being silently replaced.
 */
export async function* toUtf8(chunks: AsyncIterable<Buffer>, encoding: InputEncoding): AsyncGenerator<Buffer> {
  if (encoding === 'utf-8') {
    yield* chunks;
    return;
  }
  if (encoding === 'utf-16le' || encoding === 'utf-16be') {
    yield* utf16ToUtf8(chunks, encoding === 'utf-16be');
    return;
  }
  // Every byte is a character of its own: an ASCII chunk is already UTF-8.
  for await (const chunk of chunks) {
    if (isAscii(chunk)) yield chunk;
    else yield Buffer.from(encoding === 'windows-1252' ? windows1252(chunk) : chunk.toString('latin1'), 'utf8');
  }
}

/**
 * Windows-1252 is Latin-1 but for 0x80-0x9F. Mapped here: Node 20's TextDecoder('windows-1252')
 * decodes those bytes as Latin-1. The five bytes Windows leaves undefined keep their Latin-1
 * meaning, as the WHATWG encoding standard says.
 */
const WINDOWS_1252_C1 = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

function windows1252(chunk: Buffer): string {
  const text = chunk.toString('latin1');
  return text.replace(/[\u0080-\u009f]/g, (c) => WINDOWS_1252_C1[c.charCodeAt(0) - 0x80]!);
}

const INVALID = Buffer.from([0xff]);

async function* utf16ToUtf8(chunks: AsyncIterable<Buffer>, bigEndian: boolean): AsyncGenerator<Buffer> {
  // A code unit, or a surrogate pair, may be cut between two chunks: its first bytes wait for the rest.
  let carried: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    const bytes = carried.length > 0 ? Buffer.concat([carried, chunk]) : chunk;
    let usable = bytes.length - (bytes.length % 2);
    if (usable >= 2 && isHighSurrogate(bytes, usable - 2, bigEndian)) usable -= 2;
    carried = Buffer.from(bytes.subarray(usable));
    if (usable > 0) yield encodeUtf16(bytes.subarray(0, usable), bigEndian);
  }
  if (carried.length > 0) yield carried.length === 1 ? INVALID : encodeUtf16(carried, bigEndian);
}

function isHighSurrogate(bytes: Buffer, at: number, bigEndian: boolean): boolean {
  const high = bigEndian ? bytes[at]! : bytes[at + 1]!;
  return high >= 0xd8 && high <= 0xdb;
}

function encodeUtf16(units: Buffer, bigEndian: boolean): Buffer {
  const text = (bigEndian ? Buffer.from(units).swap16() : units).toString('utf16le');
  if ((text as string & { isWellFormed(): boolean }).isWellFormed()) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && isLow(text.charCodeAt(i + 1))) {
      i++;
      continue;
    }
    if (unit >= 0xd800 && unit <= 0xdfff) {
      parts.push(Buffer.from(text.slice(from, i), 'utf8'), INVALID);
      from = i + 1;
    }
  }
  parts.push(Buffer.from(text.slice(from), 'utf8'));
  return Buffer.concat(parts);
}

function isLow(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
