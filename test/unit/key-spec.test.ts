import { describe, expect, it } from 'vitest';
import { compileKey } from '../../src/input/key.js';

const context = { line: 7, sha256: () => 'ab'.repeat(32) };

describe('compileKey', () => {
  it.each([
    ['id', { id: 'x1' }, 'x1'],
    ['id', { id: 42 }, '42'],
    ['user.id', { user: { id: 'u9' } }, 'u9'],
    ['sensor:{sensor}:{ts}', { sensor: 's1', ts: 1700 }, 'sensor:s1:1700'],
    ['{a.b}-{$line}', { a: { b: 'z' } }, 'z-7'],
    ['user.id', { 'user.id': 'flat' }, 'flat'],
    ['user.id', { 'user.id': 'flat', user: { id: 'nested' } }, 'flat'],
    ['h:{$hash}', {}, `h:${'ab'.repeat(32)}`],
  ])('derives %s from %j', (spec, record, key) => {
    expect(compileKey(spec)(record as Record<string, unknown>, context)).toEqual({ key });
  });

  it.each([
    ['id', {}, 'E_KEY_MISSING'],
    ['id', { id: null }, 'E_KEY_MISSING'],
    ['id', { id: '' }, 'E_KEY_INVALID'],
    ['{a}-{b}', { a: 'x', b: '' }, 'E_KEY_INVALID'],
    ['id', { id: { nested: 1 } }, 'E_KEY_INVALID'],
    ['id', { id: 'a\u0000b' }, 'E_KEY_INVALID'],
    ['id', { id: 'x'.repeat(1025) }, 'E_KEY_TOO_LONG'],
    ['toString', {}, 'E_KEY_MISSING'],
    ['constructor.name', {}, 'E_KEY_MISSING'],
    ['user.id', { 'user.id': null, user: { id: 'u1' } }, 'E_KEY_MISSING'],
  ])('fails %s on %j with %s', (spec, record, code) => {
    expect(compileKey(spec)(record as Record<string, unknown>, context)).toMatchObject({ code });
  });

  it('asks for the exact record only for a number that is not a safe integer, and keys by its text', () => {
    let asked = 0;
    const exactRecord = () => (asked++, { id: '9007199254740993', n: 7 });
    const derive = compileKey('{id}/{n}');
    expect(derive({ id: 9007199254740992, n: 7 }, { ...context, exactRecord })).toEqual({ key: '9007199254740993/7' });
    expect(asked).toBe(1);
    expect(compileKey('id')({ id: 42 }, { ...context, exactRecord })).toEqual({ key: '42' });
    expect(asked).toBe(1);
    const flat = () => ({ 'order.id': '9007199254740993' });
    expect(compileKey('order.id')({ 'order.id': 9007199254740992 }, { ...context, exactRecord: flat })).toEqual({ key: '9007199254740993' });
  });

  it.each(['', 'a..b', '{', 'x}', '{$nope}', '{}'])('rejects the malformed spec %j as a usage error', (spec) => {
    expect(() => compileKey(spec)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });
});
