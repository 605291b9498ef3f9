import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/pipeline/semaphore.js';

describe('Semaphore', () => {
  it('hands out at most its size of permits and serves waiters in call order', async () => {
    const semaphore = new Semaphore(2);
    await semaphore.acquire();
    await semaphore.acquire();
    expect(semaphore.available).toBe(0);
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) => semaphore.acquire().then(() => order.push(n)));
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(semaphore.waiting).toBe(3);
    semaphore.release();
    semaphore.release();
    semaphore.release();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    expect(semaphore.available).toBe(0);
  });

  it('returns every permit once all holders release', async () => {
    const semaphore = new Semaphore(3);
    for (let i = 0; i < 3; i++) await semaphore.acquire();
    for (let i = 0; i < 3; i++) semaphore.release();
    expect(semaphore.available).toBe(3);
  });

  it('rejects a size that is not a positive integer', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(RangeError);
  });
});
