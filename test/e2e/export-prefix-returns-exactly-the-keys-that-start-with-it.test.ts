import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeText } from '../helpers/cli.js';
import { exportLines, importOk } from '../helpers/store.js';

// Keys on both sides of each prefix's range, in the order the index keeps them (bytes of UTF-8).
const KEYS = ['a', 'ab', 'abc', 'ac', 'b', 'z\u00e9', 'é', 'éa', 'é\u{1f600}', 'ê', '\uffff', '\uffffx', '\uffff\uffff', '\u{10000}', '\u{1f600}', '\u{1f600}x', '\u{1f601}', '\u{10ffff}', '\u{10ffff}a', '\u{10ffff}\u{10ffff}'];

async function storeWithKeys(): Promise<string> {
  const dir = await tempDir();
  const store = join(dir, 'store');
  const file = await writeText(join(dir, 'in.ndjson'), KEYS.map((id, n) => JSON.stringify({ id, n })).join('\n') + '\n');
  await importOk(store, [file]);
  return store;
}

async function keysExported(store: string, prefix: string): Promise<string[]> {
  const lines = await exportLines(store, ['--with-keys', '--prefix', prefix]);
  return lines.map((line) => (JSON.parse(line) as { key: string }).key);
}

describe('export --prefix returns exactly the keys that start with the prefix', () => {
  it('ASCII, non-ASCII and astral prefixes, and prefixes ending in U+FFFF or U+10FFFF, each print only their own keys, in key order', async () => {
    const store = await storeWithKeys();

    expect(await keysExported(store, 'a')).toEqual(['a', 'ab', 'abc', 'ac']);
    expect(await keysExported(store, 'ab')).toEqual(['ab', 'abc']);
    expect(await keysExported(store, 'é')).toEqual(['é', 'éa', 'é\u{1f600}']);
    expect(await keysExported(store, '\uffff')).toEqual(['\uffff', '\uffffx', '\uffff\uffff']);
    expect(await keysExported(store, '\u{1f600}')).toEqual(['\u{1f600}', '\u{1f600}x']);
    expect(await keysExported(store, '\u{10ffff}')).toEqual(['\u{10ffff}', '\u{10ffff}a', '\u{10ffff}\u{10ffff}']);
    expect(await keysExported(store, '\u{10ffff}\u{10ffff}')).toEqual(['\u{10ffff}\u{10ffff}']);
  });

  it('a prefix that no key starts with prints nothing, wherever it falls among the keys', async () => {
    const store = await storeWithKeys();

    for (const prefix of ['0', 'aa', 'abcd', 'zz', 'é\u{1f601}', '\ufffe', '\u{10fffe}', '\u{10ffff}b']) {
      expect(await keysExported(store, prefix), prefix).toEqual([]);
    }
  });
});
