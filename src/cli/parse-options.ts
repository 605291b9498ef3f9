import { InvalidArgumentError } from 'commander';
import { ENCODINGS, type InputEncoding } from '../input/encoding.js';
import { typeProblem } from '../store/keys.js';

/** Commander parsers: a bad value is a usage error (exit 2) with a sentence naming the option. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const number = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}.`);
    }
    return number;
  };
}

export function oneOf<T extends string>(...choices: T[]): (value: string) => T {
  return (value: string) => {
    if (!(choices as string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}.`);
    return value as T;
  };
}

export function delimiter(value: string): string {
  const resolved = value === '\\t' || value === 'tab' ? '\t' : value;
  if ([...resolved].length !== 1 || resolved === '"' || resolved === '\n' || resolved === '\r') {
    throw new InvalidArgumentError('expected a single character other than a quote or a line end (\\t for a tab).');
  }
  return resolved;
}

export function columnList(value: string): string[] {
  const columns = value.split(',').map((column) => column.trim());
  if (columns.some((column) => column === '') || new Set(columns).size !== columns.length) {
    throw new InvalidArgumentError('expected distinct, non-empty column names separated by commas.');
  }
  return columns;
}

export const DEFAULT_STORE = './bwrite-store';

/** `--store` or BWRITE_STORE: an empty value would make the current directory a store. */
export function storeDir(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a directory; an empty one would make the current directory a store.');
  return value;
}

/** `--blobs` or BWRITE_BLOBS: an `s3://BUCKET/PREFIX` URL (checked in full when the store opens). */
export function blobsUrl(value: string): string {
  if (!value.startsWith('s3://')) throw new InvalidArgumentError('expected s3://BUCKET/PREFIX, where values over --inline-max go instead of the store directory.');
  return value;
}

/** `--type`: shown in one-line tables and metrics labels, so printable and short. */
export function typeTag(value: string): string {
  const problem = typeProblem(value);
  if (problem) throw new InvalidArgumentError(`${problem}.`);
  return value;
}

const DURATION_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `90m`: a whole number and a unit (s, m, h, d, w), as milliseconds. */
export function duration(value: string): number {
  const match = /^(\d+)([smhdw])$/.exec(value.trim());
  const ms = match ? Number(match[1]) * DURATION_UNITS_MS[match[2]!]! : NaN;
  if (!Number.isSafeInteger(ms)) throw new InvalidArgumentError('expected a duration such as 30d, 12h or 90m: a whole number and one of s, m, h, d, w.');
  return ms;
}

/** `--encoding`: one of the names bwrite transcodes from, in any letter case. */
export function encodingName(value: string): InputEncoding {
  const name = value.trim().toLowerCase();
  if (!(ENCODINGS as readonly string[]).includes(name)) throw new InvalidArgumentError(`expected one of ${ENCODINGS.join(', ')}.`);
  return name as InputEncoding;
}
