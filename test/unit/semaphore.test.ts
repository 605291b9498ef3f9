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

  it('shrinks while permits are out by keeping releases back, and grows by waking waiters', async () => {
    const semaphore = new Semaphore(4);
    for (let i = 0; i < 4; i++) await semaphore.acquire();
    semaphore.resize(1);
    let woken = 0;
    const waiter = semaphore.acquire().then(() => woken++);
    for (let i = 0; i < 3; i++) semaphore.release();
    await Promise.resolve();
    expect(woken, 'three releases only bring the holders down to the new size').toBe(0);
    semaphore.release();
    await waiter;
    expect(woken).toBe(1);
    expect(semaphore.available).toBe(0);
    const more = [semaphore.acquire(), semaphore.acquire()];
    semaphore.resize(3);
    await Promise.all(more);
    expect({ size: semaphore.size, available: semaphore.available, waiting: semaphore.waiting }).toEqual({ size: 3, available: 0, waiting: 0 });
  });

  it('rejects a size that is not a positive integer', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(RangeError);
  });
});
