import { describe, expect, it } from 'vitest';
import { JsonSplitter, type JsonBreak, type JsonPosition, type JsonValue } from '../../src/input/json-values.js';

/** What the splitter finds in `text` fed in pieces of `size` bytes (Infinity: whole). */
function split(text: string, size = Infinity, max = 1000, from?: JsonPosition): (JsonValue | JsonBreak)[] {
  const bytes = Buffer.from(text);
  const splitter = new JsonSplitter(max, undefined, from);
  const out: (JsonValue | JsonBreak)[] = [];
  const step = Math.min(size, bytes.length || 1);
  for (let at = 0; at < bytes.length; at += step) out.push(...splitter.feed(Buffer.from(bytes.subarray(at, at + step))));
  out.push(...splitter.finish());
  return out;
}

const view = (found: (JsonValue | JsonBreak)[]) =>
  found.map((piece) => (piece.kind === 'value' ? { text: piece.bytes?.toString() ?? null, line: piece.line, endLine: piece.endLine, end: piece.end } : { broken: piece.line }));

describe('JsonSplitter', () => {
  const tricky = '\ufeff[\n  {"a": "x\\"]}", "b": [1, {"c": "\\\\"}]},\n  "s\\\\", 12.5e3 , true,\n  [[]],null\n]\n{"d": 1}{"e": "}"} 7\n';

  it('finds each element of a top-level array and each top-level value, however the input is split', () => {
    const whole = view(split(tricky));
    expect(whole.map((v) => ('text' in v ? v.text : v))).toEqual(['{"a": "x\\"]}", "b": [1, {"c": "\\\\"}]}', '"s\\\\"', '12.5e3', 'true', '[[]]', 'null', '{"d": 1}', '{"e": "}"}', '7']);
    expect(whole.map((v) => ('line' in v ? v.line : 0))).toEqual([2, 3, 3, 3, 4, 4, 6, 6, 6]);
    for (const size of [3, 4, 5, 7, 16]) expect(view(split(tricky, size))).toEqual(whole);
    expect(view(split(tricky.slice(1), 1))).toEqual(view(split(tricky.slice(1))));
  });

  it('counts the lines a pretty-printed value spans', () => {
    const [value] = split('[\n  {\n    "id": 1\n  }\n]\n');
    expect(value).toMatchObject({ line: 2, endLine: 4 });
  });

  it('measures a value over the limit without keeping it, and reads on', () => {
    const found = view(split(`[{"big": "${'x'.repeat(50)}"}, {"id": 2}]`, 7, 20));
    expect(found.map((v) => ('text' in v ? v.text : v))).toEqual([null, '{"id": 2}']);
  });

  it.each([
    ['a missing comma', '[{"id": 1} {"id": 2}]', 1],
    ['a bracket closing what is not open', '[\n{"id": [1}, {"id": 2}]', 2],
    ['a trailing comma', '[{"id": 1},\n]', 2],
    ['an unclosed array', '[{"id": 1},\n{"id": 2}\n', 3],
    ['an unclosed object', '[{"id": 1},\n{"id": 2\n', 2],
    ['a stray closer', '{"id": 1}\n}\n{"id": 2}', 2],
  ])('stops at %s with one break naming the line, after the values before it', (_what, text, line) => {
    for (const size of [1, 4, Infinity]) {
      const found = split(text, size);
      expect(found.filter((piece) => piece.kind === 'break')).toEqual([expect.objectContaining({ line })]);
      expect(found.at(-1)?.kind).toBe('break');
    }
  });

  it('read on from just past an element knows whether it is inside the array', () => {
    const text = '[{"id": 1}, {"id": 2},\n {"id": 3}]';
    const past = text.indexOf('}') + 1;
    const found = view(split(text.slice(past), 3, 1000, { line: 1, bytes: past }));
    expect(found).toEqual([
      { text: '{"id": 2}', line: 1, endLine: 1, end: text.indexOf('2}') + 2 },
      { text: '{"id": 3}', line: 2, endLine: 2, end: text.length - 1 },
    ]);
    expect(view(split(' {"id": 4}', 1, 1000, { line: 7, bytes: 10 }))).toEqual([{ text: '{"id": 4}', line: 7, endLine: 7, end: 20 }]);
  });
});
