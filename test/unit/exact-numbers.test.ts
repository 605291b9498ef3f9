import { describe, expect, it } from 'vitest';
import { parseExact, unsafeNumbersAsStrings } from '../../src/input/exact-numbers.js';

describe('unsafeNumbersAsStrings', () => {
  it.each([
    ['{"id":42,"a":[1,-2,0]}', '{"id":42,"a":[1,-2,0]}'],
    ['{"id":9007199254740993}', '{"id":"9007199254740993"}'],
    ['{"id":1e400,"b":1.50,"c":-0.5E-3}', '{"id":"1e400","b":"1.50","c":"-0.5E-3"}'],
    ['{"id":42.0,"t":true,"n":null}', '{"id":42.0,"t":true,"n":null}'],
    ['{"s":"1.5 \\" 1e400 \\\\","x":[ 2.5 ]}', '{"s":"1.5 \\" 1e400 \\\\","x":[ "2.5" ]}'],
    ['{"k1.5":1}', '{"k1.5":1}'],
  ])('turns %s into %s', (text, expected) => {
    expect(unsafeNumbersAsStrings(text)).toBe(expected);
  });

  it('leaves text without unsafe numbers as the same string', () => {
    const text = '{"id":"x","n":12}';
    expect(unsafeNumbersAsStrings(text)).toBe(text);
  });

  it('parses to the record with the unsafe numbers as their source text', () => {
    expect(parseExact('{"id":18446744073709551615,"n":3}')).toEqual({ id: '18446744073709551615', n: 3 });
  });
});
