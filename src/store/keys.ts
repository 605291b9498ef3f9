import type { RecordErrorCode } from '../errors.js';

export const MAX_KEY_BYTES = 1024;
export const MAX_TYPE_CHARS = 64;

/** Why a key cannot be stored, or null when it can. Keys are opaque: they never reach a path. */
export function keyProblem(key: unknown): { code: RecordErrorCode; message: string } | null {
  if (typeof key !== 'string') return { code: 'E_KEY_INVALID', message: `the key is ${key === null ? 'null' : `a ${typeof key}`}, not a string` };
  if (key.length === 0) return { code: 'E_KEY_INVALID', message: 'the key is empty' };
  if (key.includes('\0')) return { code: 'E_KEY_INVALID', message: 'the key contains a NUL character' };
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) return { code: 'E_KEY_TOO_LONG', message: `the key is ${bytes} bytes long, over the limit of ${MAX_KEY_BYTES}` };
  return null;
}

// Control, format and line-separator characters: a tag is shown in one-line tables and metrics labels.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** Why a type tag cannot be stored (it must be printable, 1 to 64 characters), or null. */
export function typeProblem(type: unknown): string | null {
  if (typeof type !== 'string' || type.trim() === '') return 'a type tag must not be empty';
  if ([...type].length > MAX_TYPE_CHARS) return `a type tag must be at most ${MAX_TYPE_CHARS} characters`;
  if (UNPRINTABLE.test(type)) return 'a type tag must not contain a line end or other control character';
  return null;
}
