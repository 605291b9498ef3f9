import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ELIDE_MIN, jsonSkeleton } from '../../src/input/json-skeleton.js';

/** JSON.parse's answer, or undefined when it refuses the text. */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isLong = (text: string) => Buffer.byteLength(JSON.stringify(text)) >= ELIDE_MIN;

/** The value with every string (property names too) of at least ELIDE_MIN bytes as written, quotes included, replaced by "". */
function elided(value: unknown): unknown {
  if (typeof value === 'string') return isLong(value) ? '' : value;
  if (Array.isArray(value)) return value.map(elided);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, isLong(k) ? '' : k, { value: elided(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

function skeletonOf(text: string): unknown {
  const bytes = Buffer.from(text, 'utf8');
  const skeleton = jsonSkeleton(bytes, bytes.every((b) => b < 0x80));
  return skeleton === null ? undefined : parsed(skeleton);
}

// Long strings full of what makes string scanning hard: escaped quotes and backslashes, \u escapes, non-ASCII.
const tricky = fc.constantFrom('a', '"', '\\', '\\"', '"\\', '\n', '\u0001', 'é', '😀', '\ud800', '/', '\t', ' ');
const longString = fc.tuple(fc.array(tricky, { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 2 })).map(([unit, extra]) => {
  const text = unit.join('');
  return text.repeat(Math.ceil(ELIDE_MIN / text.length) + extra);
});
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 1 }), longString, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(fc.oneof(fc.string(), longString), tie('node'), { maxKeys: 3 })),
})).node;
const record = fc.record({ id: fc.oneof(fc.string(), fc.integer(), longString), body: value });

describe('jsonSkeleton', () => {
  it('keeps every value of a valid record but its long strings, which become ""', () => {
    fc.assert(
      fc.property(record, fc.constantFrom(0, 2), (doc, indent) => {
        const text = JSON.stringify(doc, null, indent);
        expect(skeletonOf(text)).toEqual(elided(JSON.parse(text)));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts exactly the texts JSON.parse accepts, with bytes changed anywhere, even inside long strings', () => {
    const damage = fc.constantFrom('"', '\\', '\u0000', '\u001f', '\\u12', '\\x', '}', ',', '\n');
    fc.assert(
      fc.property(record, fc.array(fc.tuple(fc.nat(), damage), { minLength: 1, maxLength: 3 }), (doc, edits) => {
        let text = JSON.stringify(doc);
        for (const [at, insert] of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + insert + text.slice(i);
        }
        // What the bytes say (an edit may have split a surrogate pair: UTF-8 then has U+FFFD there).
        const whole = parsed(Buffer.from(text, 'utf8').toString('utf8'));
        const skeleton = skeletonOf(text);
        expect(skeleton === undefined, text).toBe(whole === undefined);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves short strings alone and finds the end of a string after escaped quotes and backslashes', () => {
    const long = `${'\\\\\\"'.repeat(ELIDE_MIN / 4)}`;
    const text = `{"id":"k\\"1","a":"${long}","b":"\\\\","c":[1,"x"]}`;
    expect(skeletonOf(text)).toEqual({ id: 'k"1', a: '', b: '\\', c: [1, 'x'] });
  });

  it('refuses a long string with a raw control character or a bad escape', () => {
    const long = 'x'.repeat(ELIDE_MIN);
    expect(jsonSkeleton(Buffer.from(`{"a":"${long}\u0007"}`), true)).toBeNull();
    expect(jsonSkeleton(Buffer.from(`{"a":"${long}\\q"}`), true)).toBeNull();
    expect(jsonSkeleton(Buffer.from(`{"a":"${long}\\u00g0"}`), true)).toBeNull();
    expect(jsonSkeleton(Buffer.from(`{"a":"${long}`), true)).toBeNull();
  });
});
