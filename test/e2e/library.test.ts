import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore, BatchWriter } from '../../dist/index.js';
import { runBwrite, tempDir } from '../helpers/cli.js';
import { describeRun, exportMap, getValue, statsJson } from '../helpers/store.js';

describe('the library writes through the same engine as the CLI', () => {
  it('writeOne stores a string value that bin/bwrite get then prints', async () => {
    const dir = await tempDir();
    const storeDir = join(dir, 'store');
    const store = await openStore(storeDir);
    try {
      const writer = new BatchWriter(store, { maxConcurrent: 4 });
      await writer.writeOne('k', '{"a":1}');
    } finally {
      await store.close();
    }

    const got = await getValue(storeDir, 'k');
    expect(got.code).toBe(0);
    expect(got.stdout).toBe('{"a":1}\n');
  });

  it('writeOne accepts a Uint8Array value and a type', async () => {
    const dir = await tempDir();
    const storeDir = join(dir, 'store');
    const store = await openStore(storeDir);
    try {
      const writer = new BatchWriter(store, { maxConcurrent: 2 });
      await writer.writeOne('bytes', new TextEncoder().encode('{"b":2}'), 'raw');
    } finally {
      await store.close();
    }

    expect((await getValue(storeDir, 'bytes')).stdout).toBe('{"b":2}\n');
    expect((await statsJson(storeDir)).byType).toHaveProperty('raw');
  });

  it('writeOne rejects an empty key and a key over 1024 bytes', async () => {
    const dir = await tempDir();
    const store = await openStore(join(dir, 'store'));
    try {
      const writer = new BatchWriter(store, { maxConcurrent: 4 });
      await expect(writer.writeOne('', '{}')).rejects.toBeInstanceOf(Error);
      await expect(writer.writeOne('x'.repeat(1025), '{}')).rejects.toBeInstanceOf(Error);
      expect(writer.stats()).toEqual({ maxConcurrent: 4, availablePermits: 4, inFlight: 0 });
    } finally {
      await store.close();
    }
  });

  it('writeBatch returns one result per item in input order and never throws for an item', async () => {
    const dir = await tempDir();
    const storeDir = join(dir, 'store');
    const store = await openStore(storeDir);
    const items = [
      { key: 'b', value: '{"n":1}' },
      { key: '', value: '{"n":2}' },
      { key: 'a', value: new TextEncoder().encode('{"n":3}'), type: 'json' },
      { key: 'y'.repeat(2000), value: '{"n":4}' },
      { key: 'c', value: '{"n":5}' },
    ];
    try {
      const writer = new BatchWriter(store, { maxConcurrent: 4 });
      const results = await writer.writeBatch(items);

      expect(results).toHaveLength(items.length);
      expect(results.map((r) => r.key)).toEqual(items.map((i) => i.key));
      expect(results.map((r) => r.outcome)).toEqual(['written', 'failed', 'written', 'failed', 'written']);
      expect(results.map((r) => r.failed)).toEqual([false, true, false, true, false]);
      for (const failed of [results[1]!, results[3]!]) {
        expect(typeof failed.code).toBe('string');
        expect(failed.error).toBeInstanceOf(Error);
      }
      expect(writer.stats()).toEqual({ maxConcurrent: 4, availablePermits: 4, inFlight: 0 });
    } finally {
      await store.close();
    }

    expect(Object.fromEntries(await exportMap(storeDir))).toEqual({ a: { n: 3 }, b: { n: 1 }, c: { n: 5 } });
  });

  it('writeBatch keeps the last of repeated keys and never exceeds maxConcurrent', async () => {
    const dir = await tempDir();
    const storeDir = join(dir, 'store');
    const store = await openStore(storeDir);
    try {
      const writer = new BatchWriter(store, { maxConcurrent: 3 });
      const items = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 7}`, value: JSON.stringify({ i }) }));
      const pending = writer.writeBatch(items);
      const samples: { inFlight: number; availablePermits: number }[] = [writer.stats()];
      const sampler = setInterval(() => samples.push(writer.stats()), 1);
      const results = await pending;
      clearInterval(sampler);

      expect(results.every((r) => r.outcome === 'written' && !r.failed)).toBe(true);
      for (const s of samples) {
        expect(s.inFlight).toBeLessThanOrEqual(3);
        expect(s.availablePermits).toBeGreaterThanOrEqual(0);
        expect(s.inFlight + s.availablePermits).toBeLessThanOrEqual(3);
      }
      expect(writer.stats()).toEqual({ maxConcurrent: 3, availablePermits: 3, inFlight: 0 });
    } finally {
      await store.close();
    }

    const map = await exportMap(storeDir);
    for (let k = 0; k < 7; k++) {
      const last = [...Array(300).keys()].filter((i) => i % 7 === k).at(-1);
      expect(map.get(`k${k}`)).toEqual({ i: last });
    }
  });

  it('writeBatch fails a missing, numeric or object value and a null item alone, in input order, without throwing', async () => {
    const dir = await tempDir();
    const storeDir = join(dir, 'store');
    const store = await openStore(storeDir);
    const items = [
      { key: 'a', value: '{"n":1}' },
      { key: 'y' },
      { key: 'x', value: 123 },
      { key: 'z', value: { a: 1 } },
      null,
      { key: 'b', value: '{"n":2}', type: 'bad\ntype' },
      { key: 'c', value: '{"n":3}' },
    ] as unknown as Parameters<BatchWriter['writeBatch']>[0];
    try {
      const writer = new BatchWriter(store, { maxConcurrent: 2 });
      const results = await writer.writeBatch(items);

      expect(results.map((r) => [r.key, r.outcome, r.code])).toEqual([
        ['a', 'written', undefined],
        ['y', 'failed', 'E_VALUE_INVALID'],
        ['x', 'failed', 'E_VALUE_INVALID'],
        ['z', 'failed', 'E_VALUE_INVALID'],
        ['', 'failed', 'E_VALUE_INVALID'],
        ['b', 'failed', 'E_TYPE_INVALID'],
        ['c', 'written', undefined],
      ]);
      expect(results[1]!.error!.message).toBe('the value is missing, not a string or a Uint8Array (pass JSON.stringify(value) for an object)');
      expect(results[2]!.error!.message).toContain('the value is a number');
      await expect(writer.writeOne('w', 7 as unknown as string)).rejects.toMatchObject({ code: 'E_VALUE_INVALID' });
      expect(writer.stats()).toEqual({ maxConcurrent: 2, availablePermits: 2, inFlight: 0 });
    } finally {
      await store.close();
    }

    expect(Object.fromEntries(await exportMap(storeDir))).toEqual({ a: { n: 1 }, c: { n: 3 } });
  });

  it("a 'json' value that is not JSON text fails alone; under another type it is stored and exported as a JSON string", async () => {
    const dir = await tempDir();
    const storeDir = join(dir, 'store');
    const store = await openStore(storeDir);
    try {
      const writer = new BatchWriter(store);
      await expect(writer.writeOne('k', 'not json at all')).rejects.toMatchObject({ code: 'E_PARSE', message: expect.stringContaining('pass another type') });
      const results = await writer.writeBatch([
        { key: 'bytes', value: new Uint8Array([0xff, 0xfe]), type: 'json' },
        { key: 'text', value: 'not json at all', type: 'text' },
        { key: 'multi', value: '{\n  "big": 18446744073709551615\n}' },
      ]);
      expect(results.map((r) => r.code ?? r.outcome)).toEqual(['E_PARSE', 'written', 'written']);
    } finally {
      await store.close();
    }

    const args = ['export', '--store', storeDir, '--with-keys'];
    const run = await runBwrite(args);
    expect(run.code, describeRun(args, run)).toBe(0);
    expect(run.stdout).toBe('{"key":"multi","value":{   "big": 18446744073709551615 }}\n{"key":"text","value":"not json at all"}\n');
    expect((await getValue(storeDir, 'k')).code).toBe(1);
  });
});
