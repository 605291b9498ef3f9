import { BACKSLASH, QUOTE } from './bytes.js';

/**
 * A large NDJSON record is mostly one or two long strings (a payload, a document). Decoding the
 * whole line to a JS string and JSON.parse-ing it costs far more than checking its bytes, while
 * bwrite only needs to know that the line is valid JSON and what its key fields say: the stored
 * value is the line's bytes. So long strings are checked where they lie in the bytes (escapes, no
 * raw control characters) and replaced by `""` in a small skeleton text, which JSON.parse then
 * checks for everything else (figures in bench/PERFORMANCE.md, Measured design choices).
 *
 * The skeleton is exact for what it is used for: every key field that is not a long string has
 * its real value, and a key that touches a long string would be over the 1024-byte key limit
 * anyway (ELIDE_MIN source bytes decode to more than 1024 bytes), so the caller falls back to the
 * full parse whenever the key cannot be derived, or anything here is unusual.
 */

/**
 * Lines at least this long take the skeleton path; shorter ones are parsed whole. The skeleton
 * also spares the line's copy as a JS string, so it pays off on lines far shorter than 1 MB; a
 * line of many short fields (nothing to elide) costs somewhat more this way than parsed whole.
 */
export const SKELETON_MIN_LINE = 16 * 1024;

/** Strings of at least this many source bytes are elided (each source byte \uXXXX-escaped still decodes past 1024 bytes). */
export const ELIDE_MIN = 8 * 1024;

/**
 * The skeleton text of a JSON line (`bytes` already known to be valid UTF-8), or null when a
 * long string in it is malformed: the caller then parses the whole line for the exact error.
 */
export function jsonSkeleton(bytes: Buffer, ascii: boolean): string | null {
  const encoding = ascii ? 'latin1' : 'utf8';
  const pieces: string[] = [];
  let kept = 0;
  let at = 0;
  for (;;) {
    const open = bytes.indexOf(QUOTE, at);
    if (open === -1) break;
    const close = closingQuote(bytes, open + 1);
    if (close === -1) return null;
    if (close + 1 - open >= ELIDE_MIN) {
      if (!isValidStringContent(bytes.subarray(open + 1, close))) return null;
      pieces.push(bytes.toString(encoding, kept, open), '""');
      kept = close + 1;
    }
    at = close + 1;
  }
  pieces.push(bytes.toString(encoding, kept, bytes.length));
  return pieces.join('');
}

/**
 * The quote that closes a string whose content starts at `from`, or -1: the first quote not
 * preceded by an odd run of backslashes (each backslash takes the next character with it).
 */
function closingQuote(bytes: Buffer, from: number): number {
  let at = from;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, at);
    if (quote === -1) return -1;
    let slashes = 0;
    while (quote - slashes - 1 >= from && bytes[quote - slashes - 1] === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return quote;
    at = quote + 1;
  }
}

/** What JSON allows between a string's quotes: no raw control characters, only valid escapes. */
function isValidStringContent(content: Buffer): boolean {
  if (hasControlByte(content)) return false;
  let at = content.indexOf(BACKSLASH);
  while (at !== -1) {
    const next = escapeEnd(content, at);
    if (next === -1) return false;
    at = content.indexOf(BACKSLASH, next);
  }
  return true;
}

/** Just past a valid escape sequence at `at` (`\"`, `\n`, `\u00e9`…), or -1. */
function escapeEnd(bytes: Buffer, at: number): number {
  const kind = bytes[at + 1];
  if (kind === undefined) return -1;
  if (kind === 0x75 /* u */) {
    for (let i = at + 2; i < at + 6; i++) if (!isHex(bytes[i])) return -1;
    return at + 6;
  }
  // " \ / b f n r t
  return kind === 0x22 || kind === 0x5c || kind === 0x2f || kind === 0x62 || kind === 0x66 || kind === 0x6e || kind === 0x72 || kind === 0x74 ? at + 2 : -1;
}

function isHex(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66));
}

/**
 * Whether `bytes` holds a byte below 0x20, which JSON forbids inside a string. Four bytes at a
 * time with the "has less than" bit trick (exact for any bytes), eight words per test: the
 * trick's terms can be OR-ed before the one branch, which halves the time of a word at a time.
 */
function hasControlByte(bytes: Buffer): boolean {
  const to = bytes.length;
  let i = 0;
  while (i < to && (bytes.byteOffset + i) % 4 !== 0) if (bytes[i++]! < 0x20) return true;
  const words = (to - i) >>> 2;
  const view = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
  const inBlocks = words - (words % 8);
  let w = 0;
  for (; w < inBlocks; w += 8) {
    const found =
      lowBytes(view[w]!) | lowBytes(view[w + 1]!) | lowBytes(view[w + 2]!) | lowBytes(view[w + 3]!) | lowBytes(view[w + 4]!) | lowBytes(view[w + 5]!) | lowBytes(view[w + 6]!) | lowBytes(view[w + 7]!);
    if ((found & 0x80808080) !== 0) return true;
  }
  for (; w < words; w++) if ((lowBytes(view[w]!) & 0x80808080) !== 0) return true;
  for (i += words * 4; i < to; i++) if (bytes[i]! < 0x20) return true;
  return false;
}

/** Has the top bit of a byte set where `x` has a byte below 0x20 (and no other byte matters once masked with 0x80808080). */
function lowBytes(x: number): number {
  return (x - 0x20202020) & ~x;
}
