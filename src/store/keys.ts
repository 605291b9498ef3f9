import type { RecordErrorCode } from '../errors.js';

export const MAX_KEY_BYTES = 1024;

/** Why a key cannot be stored, or null when it can. Keys are opaque: they never reach a path. */
export function keyProblem(key: unknown): { code: RecordErrorCode; message: string } | null {
  if (typeof key !== 'string' || key.length === 0) return { code: 'E_KEY_INVALID', message: 'the key is empty' };
  if (key.includes('\0')) return { code: 'E_KEY_INVALID', message: 'the key contains a NUL character' };
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) return { code: 'E_KEY_TOO_LONG', message: `the key is ${bytes} bytes long, over the limit of ${MAX_KEY_BYTES}` };
  return null;
}
