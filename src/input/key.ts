import { BwriteError, type RecordErrorCode } from '../errors.js';
import { keyProblem } from '../store/keys.js';

export interface KeyContext {
  line: number;
  /** The value's SHA-256, for `{$hash}`. */
  sha256: () => string;
  /**
   * The record with every number that is not a safe integer kept as its source text; asked for
   * only when a key field holds such a number (see exact-numbers.ts).
   */
  exactRecord?: () => unknown;
}

export type KeyResult = { key: string } | { code: RecordErrorCode; message: string };

/** Derives a record's key from `--key`: a field, a dotted path, or a `{field}` template. */
export type KeyDeriver = (record: Record<string, unknown>, context: KeyContext) => KeyResult;

type FieldPart = { path: string[]; name: string };
type Part = { literal: string } | FieldPart | { special: '$hash' | '$line' };

/** Compiles a key spec once; throws a usage error for a malformed one. */
export function compileKey(spec: string): KeyDeriver {
  if (spec.trim() === '') throw new BwriteError('E_USAGE', '--key must not be empty');
  const parts = spec.includes('{') || spec.includes('}') ? parseTemplate(spec) : [fieldPart(spec)];
  return (record, context) => {
    let key = '';
    for (const part of parts) {
      if ('literal' in part) key += part.literal;
      else if ('special' in part) key += part.special === '$hash' ? context.sha256() : String(context.line);
      else {
        const value = fieldValue(record, part);
        if (value === undefined) return { code: 'E_KEY_MISSING', message: `the record has no key field '${part.name}'` };
        if (value === null) return { code: 'E_KEY_MISSING', message: `the key field '${part.name}' is null` };
        if (value === '') return { code: 'E_KEY_INVALID', message: `the key field '${part.name}' is empty` };
        if (typeof value === 'object') return { code: 'E_KEY_INVALID', message: `the key field '${part.name}' is an ${Array.isArray(value) ? 'array' : 'object'}, not a string or number` };
        key += typeof value === 'number' && !Number.isSafeInteger(value) ? numberText(value, part, context) : String(value);
      }
    }
    const problem = keyProblem(key);
    return problem ?? { key };
  };
}

function parseTemplate(spec: string): Part[] {
  const parts: Part[] = [];
  const pattern = /\{([^{}]*)\}/g;
  let last = 0;
  for (const match of spec.matchAll(pattern)) {
    if (match.index > last) parts.push({ literal: spec.slice(last, match.index) });
    const name = match[1]!.trim();
    if (name === '$hash' || name === '$line') parts.push({ special: name });
    else if (name === '' || name.startsWith('$')) throw new BwriteError('E_USAGE', `--key '${spec}': unknown placeholder {${name}} (use {field}, {a.b}, {$hash} or {$line})`);
    else parts.push(fieldPart(name));
    last = match.index + match[0].length;
  }
  const rest = spec.slice(last);
  if (rest.includes('{') || rest.includes('}') || parts.some((part) => 'literal' in part && /[{}]/.test(part.literal))) {
    throw new BwriteError('E_USAGE', `--key '${spec}': unbalanced '{' or '}'`);
  }
  if (rest) parts.push({ literal: rest });
  return parts;
}

function fieldPart(name: string): FieldPart {
  const path = name.split('.');
  if (path.some((segment) => segment === '')) throw new BwriteError('E_USAGE', `--key '${name}' is not a field name or dotted path`);
  return { path, name };
}

/**
 * A key number that is not a safe integer, as written in the input: 9007199254740993 keeps its
 * digits, 1e400 stays 1e400 (not Infinity), 1.50 stays 1.50. Safe integers use their plain
 * decimal form (42.0 and 4.2e1 are 42), above.
 */
function numberText(value: number, part: FieldPart, context: KeyContext): string {
  const exact = fieldValue(context.exactRecord?.(), part);
  return typeof exact === 'string' ? exact : String(value);
}

/**
 * A key field's value. A dotted name is first a field of that very name, as a CSV column
 * `user.id` is, then a path into nested objects (`{"user": {"id": …}}`).
 */
function fieldValue(record: unknown, part: FieldPart): unknown {
  if (part.path.length > 1 && record !== null && typeof record === 'object' && Object.prototype.hasOwnProperty.call(record, part.name)) {
    return (record as Record<string, unknown>)[part.name];
  }
  return lookup(record, part.path);
}

/** Own properties only: a path never reaches into a prototype (`__proto__`, `constructor`). */
function lookup(record: unknown, path: string[]): unknown {
  let current = record;
  for (const segment of path) {
    if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
