import { describe, expect, it } from 'vitest';
import { formatOfHead } from '../../src/input/format-sniff.js';

describe('formatOfHead tells JSON text from NDJSON by the first bytes', () => {
  it.each([
    ['an array, after a byte-order mark and blank lines', '\ufeff\n  [{"id": 1}]', true, 'json'],
    ['standard input that opens an array', ' [', false, 'json'],
    ['standard input that opens an object', '{\n  "id": 1\n}', false, 'ndjson'],
    ['a .json file whose first line is one object', '{"id": 1}\n{"id": 2}\n', true, 'ndjson'],
    ['a .json file of one object on one line, no line end', '{"id": 1}', true, 'ndjson'],
    ['a pretty-printed .json file', '{\n  "id": 1\n}\n', true, 'json'],
    ['a .json file with two objects on its first line', '{"id": 1}{"id": 2}\n', true, 'json'],
  ])('%s', (_what, text, named, format) => {
    expect(formatOfHead(Buffer.from(text), named, true)).toBe(format);
  });

  it('waits for more when the first line of a .json file is not complete yet', () => {
    expect(formatOfHead(Buffer.from('{"id": 1, "payload": "'), true, false)).toBeNull();
    expect(formatOfHead(Buffer.from('   '), false, false)).toBeNull();
  });
});
