import { isUtf8 } from 'node:buffer';
import type { RecordErrorCode } from '../errors.js';
import { typeProblem } from '../store/keys.js';

/**
 * Why an item handed to the public `writeBatch`/`writeOne` cannot be written, or null. The CLI's
 * pipeline skips this: its readers only pass JSON text they parsed. A library caller may pass
 * anything, and the contract says such an item fails alone, never as a thrown TypeError.
 */
export function itemProblem(item: unknown, defaultType: string): { code: RecordErrorCode; message: string } | null {
  if (item === null || typeof item !== 'object') return { code: 'E_VALUE_INVALID', message: `the item is ${describe(item)}, not an object { key, value, type? }` };
  const { value, type = defaultType } = item as { value?: unknown; type?: unknown };
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
    return { code: 'E_VALUE_INVALID', message: `the value is ${describe(value)}, not a string or a Uint8Array (pass JSON.stringify(value) for an object)` };
  }
  const badType = typeProblem(type);
  if (badType) return { code: 'E_TYPE_INVALID', message: badType };
  if (type === 'json' && !isJsonText(value)) {
    return { code: 'E_PARSE', message: "the value is not JSON text, and its type is 'json'; pass another type (e.g. 'text' or 'bytes') for other bytes" };
  }
  return null;
}

/** Export prints a 'json' value as it is, so it must be JSON text (in UTF-8). */
export function isJsonText(value: string | Uint8Array): boolean {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (isUtf8(value)) text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  else return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `${typeof value === 'object' ? 'an' : 'a'} ${typeof value}`;
}
