import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchWriter } from '../../src/pipeline/batch-writer.js';
import { SYNC_WRITE_MAX } from '../../src/store/blob-store.js';
import { FaultInjector } from '../../src/store/faults.js';
import { openStore, type Store } from '../../src/store/store.js';

const opened: { store: Store; dir: string }[] = [];
afterEach(async () => {
  for (const { store, dir } of opened.splice(0)) {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

async function freshStore(faults = FaultInjector.none()): Promise<Store> {
  const dir = await mkdtemp(join(tmpdir(), 'bwrite-writer-'));
  const store = await openStore(join(dir, 'store'), { faults });
  opened.push({ store, dir });
  return store;
}

const items = (n: number, key = (i: number) => `k${i}`) => Array.from({ length: n }, (_, i) => ({ key: key(i), value: JSON.stringify({ i, pad: 'p'.repeat(i % 50) }) }));
/** Values over SYNC_WRITE_MAX: their files are written asynchronously, up to the writer's permits at once. */
const largeItems = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ i, pad: 'p'.repeat(SYNC_WRITE_MAX + (i % 50)) }) }));

describe('BatchWriter', () => {
  it('never has more writes in flight than its permits, and reaches that bound', async () => {
    const store = await freshStore();
    const writer = new BatchWriter(store, { maxConcurrent: 4, inlineMax: 0 });
    let seen = 0;
    const sampler = setInterval(() => {
      const { inFlight, availablePermits, maxConcurrent } = writer.stats();
      seen = Math.max(seen, inFlight);
      expect(inFlight).toBeLessThanOrEqual(maxConcurrent);
      expect(availablePermits).toBeGreaterThanOrEqual(0);
    }, 0);
    await writer.writeBatch(largeItems(400));
    clearInterval(sampler);
    expect(writer.peakInFlight).toBe(4);
    expect(seen).toBeLessThanOrEqual(4);
    expect(writer.stats()).toEqual({ maxConcurrent: 4, availablePermits: 4, inFlight: 0 });
  });

  it('settles inline values without a write permit, unless a blob fault rule may fail them', async () => {
    const plain = new BatchWriter(await freshStore(), { maxConcurrent: 2 });
    const results = await plain.writeBatch(items(300));
    expect(results.every((r) => r.outcome === 'written' && r.attempts === 1)).toBe(true);
    expect(plain.peakInFlight).toBe(0);
    expect(plain.latency.count).toBe(300);
    expect(plain.store.index.getItem('k299')).toMatchObject({ key: 'k299', inline: Buffer.from(items(300)[299]!.value) });

    // With BWRITE_FAULTS naming blob, each inline value is one attempt, as the contract says.
    const faulty = new BatchWriter(await freshStore(new FaultInjector([{ point: 'blob', code: 'EAGAIN', rate: 0.5 }], 1)), {
      maxConcurrent: 2,
      retry: { retries: 20, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const retried = await faulty.writeBatch(items(40));
    expect(retried.every((r) => r.outcome === 'written')).toBe(true);
    expect(faulty.totals.retries).toBeGreaterThan(0);
    expect(faulty.peakInFlight).toBeGreaterThan(0);
  });

  it('returns one result per item in input order, failures as values', async () => {
    const store = await freshStore();
    const writer = new BatchWriter(store, { maxConcurrent: 8, inlineMax: 0 });
    const batch = items(300, (i) => (i % 50 === 7 ? '' : `k${i}`));
    const results = await writer.writeBatch(batch);
    expect(results.map((r) => r.key)).toEqual(batch.map((b) => b.key));
    for (const result of results) {
      if (result.key === '') expect(result).toMatchObject({ failed: true, outcome: 'failed', code: 'E_KEY_INVALID' });
      else expect(result).toMatchObject({ failed: false, outcome: 'written' });
    }
  });

  it('commits batches in submission order, so a repeated key keeps its last value', async () => {
    const store = await freshStore();
    const writer = new BatchWriter(store, { maxConcurrent: 32, inlineMax: 0 });
    const batches = Array.from({ length: 40 }, (_, b) => Array.from({ length: 7 }, (_, i) => ({ key: 'same', value: `{"n":${b * 7 + i}}` })));
    await Promise.all(batches.map((batch) => writer.submit(batch).done));
    expect((await store.get('same'))!.value.toString()).toBe(`{"n":${40 * 7 - 1}}`);
  });

  it('stops on a store-fatal error and commits nothing after it', async () => {
    const store = await freshStore(new FaultInjector([{ point: 'blob', code: 'ENOSPC', rate: 1 }], 1));
    const writer = new BatchWriter(store, { inlineMax: 0 });
    const outcome = await writer.submit(items(10)).done;
    expect(outcome.committed).toBe(false);
    expect(writer.fatal).toMatchObject({ code: 'ENOSPC' });
    expect(store.index.getItem('k0')).toBeUndefined();
  });

  it('lowers its concurrency on EMFILE without using up retries, keeps stats() consistent, and stores every item', async () => {
    const store = await freshStore(new FaultInjector([{ point: 'blob', code: 'EMFILE', rate: 0.2 }], 3));
    const writer = new BatchWriter(store, { maxConcurrent: 16, inlineMax: 0, retry: { retries: 5, baseDelayMs: 1, maxDelayMs: 2 } });
    let lowest = 16;
    const sampler = setInterval(() => {
      const { inFlight, availablePermits, maxConcurrent } = writer.stats();
      expect(maxConcurrent).toBe(16);
      expect(inFlight + availablePermits).toBeLessThanOrEqual(maxConcurrent);
      lowest = Math.min(lowest, inFlight + availablePermits);
    }, 0);
    const results = await writer.writeBatch(largeItems(600));
    clearInterval(sampler);
    expect(results.filter((r) => r.failed)).toEqual([]);
    expect(lowest, 'fewer permits were handed out after EMFILE').toBeLessThan(16);
    const { inFlight, availablePermits } = writer.stats();
    expect(inFlight).toBe(0);
    expect(availablePermits).toBeGreaterThanOrEqual(1);
  });

  it('writeOne rejects with the item error and stores nothing for it', async () => {
    const store = await freshStore();
    const writer = new BatchWriter(store);
    await expect(writer.writeOne('x'.repeat(1025), '{}')).rejects.toMatchObject({ code: 'E_KEY_TOO_LONG' });
    await expect(writer.writeOne('ok', '{"a":1}')).resolves.toMatchObject({ outcome: 'written', size: 7 });
  });
});
