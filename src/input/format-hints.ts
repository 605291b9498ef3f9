import type { FailureEvent } from './records.js';
import type { InputFormat } from './source.js';

export interface HintContext {
  /** The input as messages name it. */
  name: string;
  format: InputFormat;
  /** Its first bytes as stored, before any decompression (standard input's are known once it is read). */
  magic: () => Buffer;
}

/** Compressed or archive formats bwrite does not read, by their magic bytes, and how to read them. */
const FOREIGN_MAGIC: { name: string; magic: number[]; instead: string }[] = [
  { name: 'a ZIP archive', magic: [0x50, 0x4b, 0x03, 0x04], instead: 'extract it first (unzip -p FILE | bwrite import -)' },
  { name: '7-Zip data', magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], instead: 'extract it first (7z x -so FILE | bwrite import -)' },
  { name: 'LZ4 data', magic: [0x04, 0x22, 0x4d, 0x18], instead: 'decompress it first (lz4 -dc FILE | bwrite import -)' },
  { name: 'Unix compress (.Z) data', magic: [0x1f, 0x9d], instead: 'decompress it first (zcat FILE | bwrite import -)' },
  { name: 'lzip data', magic: [0x4c, 0x5a, 0x49, 0x50], instead: 'decompress it first (lzip -dc FILE | bwrite import -)' },
  { name: 'a RAR archive', magic: [0x52, 0x61, 0x72, 0x21], instead: 'extract it first (unrar p -inul FILE | bwrite import -)' },
];

/**
 * What an input whose first records all failed looks like, as the second half of one sentence
 * with the flag to use; null when it does not plainly look like something else (then its records
 * fail one by one as usual). Only shapes that a real input of the right format cannot have count.
 */
export function formatHint(failures: FailureEvent[], context: HintContext): string | null {
  const head = context.magic();
  const foreign = FOREIGN_MAGIC.find(({ magic }) => magic.every((byte, i) => head[i] === byte));
  if (foreign) return `it looks like ${foreign.name}, which bwrite does not decompress (it reads gzip, zstd, xz and bzip2); ${foreign.instead}`;
  const texts = failures.map(textOf);
  const first = texts[0] ?? '';
  const utf16 = utf16Order(first);
  if (utf16) return `it looks like UTF-16 text without a byte-order mark; add --encoding ${utf16}`;
  if (texts.some(isBinary)) return 'it looks like binary data, not text: check that this is the file you meant (bwrite reads NDJSON, JSON, CSV and TSV, plain or compressed with gzip, zstd, xz or bzip2)';
  if (failures.every((failure) => failure.code === 'E_INVALID_UTF8')) {
    return 'its lines are not UTF-8; if it is text in another encoding, add --encoding latin1, windows-1252, utf-16le or utf-16be';
  }
  if (context.format === 'ndjson') return ndjsonHint(failures, texts);
  if (context.format === 'csv' || context.format === 'tsv') return csvHint(failures, texts);
  return null;
}

function ndjsonHint(failures: FailureEvent[], texts: string[]): string | null {
  const first = texts[0]!.trimStart();
  if (first.startsWith('[')) return 'it looks like a JSON array, not NDJSON (one JSON object a line); add --format json';
  if (failures.every((failure) => failure.code === 'E_PARSE')) {
    const pretty = first.startsWith('{') && texts.slice(1).some((text) => /^\s*("|\}|\])/.test(text));
    if (pretty) return 'it looks like pretty-printed JSON (objects over several lines), not NDJSON (one JSON object a line); add --format json';
    const delimiter = csvDelimiter(texts);
    if (delimiter) {
      const flag = delimiter === '\t' ? '--format tsv' : delimiter === ',' ? '--format csv' : `--format csv --delimiter '${delimiter}'`;
      return `it looks like ${delimiter === '\t' ? 'TSV' : 'CSV'} (its first line is '${shorten(texts[0]!)}'), not NDJSON; add ${flag}`;
    }
  }
  return null;
}

function csvHint(failures: FailureEvent[], texts: string[]): string | null {
  const first = texts[0]!.trimStart();
  if (failures[0]!.line !== 1) return null;
  if (first.startsWith('{')) return 'it looks like NDJSON (a JSON object a line), not CSV; add --format ndjson';
  if (first.startsWith('[')) return 'it looks like a JSON array, not CSV; add --format json';
  return null;
}

/** The delimiter every line has the same (non-zero) number of, as a CSV header and its rows do. */
function csvDelimiter(texts: string[]): string | null {
  if (/^\s*[{[]/.test(texts[0]!)) return null;
  for (const delimiter of [',', '\t', ';', '|']) {
    const counts = texts.map((text) => text.split(delimiter).length - 1);
    if (counts[0]! > 0 && counts.every((count) => count === counts[0])) return delimiter;
  }
  return null;
}

/** A UTF-16 line read as UTF-8: every other character NUL. Which ones tells the byte order. */
function utf16Order(text: string): 'utf-16le' | 'utf-16be' | null {
  if (text.length < 4) return null;
  let even = 0;
  let odd = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 0) continue;
    if (i % 2 === 0) even++;
    else odd++;
  }
  const half = Math.floor(text.length / 2);
  if (odd >= half * 0.9 && even === 0) return 'utf-16le';
  if (even >= half * 0.9 && odd === 0) return 'utf-16be';
  return null;
}

/**
 * Not text: control characters (NULs above all) in a share no text has, while random bytes have
 * one in nine. Bytes that are not UTF-8 do not count: Latin-1 text is full of them.
 */
function isBinary(text: string): boolean {
  if (text.length === 0) return false;
  let control = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 && code !== 0x09) control++;
  }
  return control / text.length > 0.05;
}

function textOf(failure: FailureEvent): string {
  return failure.raw ?? '';
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
