import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCount } from '../../src/cli/format.js';

describe('formatCount', () => {
  it('groups every whole number as toLocaleString("en-US") does', () => {
    for (const n of [0, 7, 999, 1000, -1000, 123456, 1234567, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => formatCount(n) === n.toLocaleString('en-US')));
  });

  it('leaves other numbers to toLocaleString', () => {
    for (const n of [1.5, 12345.678, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY]) expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
  });
});
