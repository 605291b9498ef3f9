import { describe, expect, it } from 'vitest';
import { LineBuffers, POOLED_MIN_BYTES, sizeClass } from '../../src/input/line-buffers.js';

describe('LineBuffers', () => {
  it('lends a long line’s buffer again once it is given back, and not before', () => {
    const pool = new LineBuffers();
    const first = pool.take(100_000);
    const second = pool.take(100_000);
    expect(first.length).toBe(100_000);
    expect(second.buffer).not.toBe(first.buffer);
    pool.release(first.subarray(3, 50));
    expect(pool.take(99_000).buffer).toBe(first.buffer);
    expect(pool.take(100_000).buffer).not.toBe(second.buffer);
  });

  it('ignores a second release, and buffers it did not lend', () => {
    const pool = new LineBuffers();
    const lent = pool.take(200_000);
    pool.release(lent);
    pool.release(lent);
    pool.release(Buffer.allocUnsafeSlow(200_000));
    pool.release('a string value');
    const a = pool.take(200_000);
    const b = pool.take(200_000);
    expect(a.buffer).toBe(lent.buffer);
    expect(b.buffer).not.toBe(lent.buffer);
  });

  it('keeps short lines out of the pool, and keeps no more than its limit', () => {
    const pool = new LineBuffers(300_000);
    const short = pool.take(POOLED_MIN_BYTES - 1);
    pool.release(short);
    expect(pool.take(POOLED_MIN_BYTES - 1).buffer).not.toBe(short.buffer);
    const [a, b] = [pool.take(200_000), pool.take(200_000)];
    pool.release(a);
    pool.release(b);
    expect(pool.take(200_000).buffer).toBe(a.buffer);
    expect(pool.take(200_000).buffer).not.toBe(b.buffer);
  });
});

describe('LineBuffers read buffers', () => {
  it('reads into a buffer again only once the reader is past it and every view lent from it is back', () => {
    const pool = new LineBuffers();
    const chunk = pool.readBuffer(4096);
    const [a, b] = [chunk.subarray(0, 10), chunk.subarray(10, 20)];
    pool.lend(a);
    pool.lend(b);
    pool.lend(b);
    pool.doneReading(chunk);
    expect(pool.readBuffer(4096).buffer).not.toBe(chunk.buffer);
    pool.release(a);
    pool.release(a);
    pool.release(chunk.subarray(10, 20));
    expect(pool.readBuffer(4096).buffer).not.toBe(chunk.buffer);
    pool.release(b);
    expect(pool.readBuffer(4096).buffer).toBe(chunk.buffer);
  });

  it('waits for the reader too, and reads a buffer nothing was lent from again as soon as the reader is past it', () => {
    const pool = new LineBuffers();
    const first = pool.readBuffer(4096);
    const view = first.subarray(5, 9);
    pool.lend(view);
    pool.release(view);
    expect(pool.readBuffer(4096).buffer).not.toBe(first.buffer);
    pool.doneReading(first);
    pool.doneReading(first);
    const again = pool.readBuffer(4096);
    expect(again.buffer).toBe(first.buffer);
    expect(pool.readBuffer(4096).buffer).not.toBe(first.buffer);
  });
});

describe('sizeClass', () => {
  it('rounds up by at most an eighth', () => {
    for (const size of [16_384, 16_385, 65_535, 65_536, 1_048_726, 16_777_216, 16_777_217]) {
      const capacity = sizeClass(size);
      expect(capacity).toBeGreaterThanOrEqual(size);
      expect(capacity).toBeLessThanOrEqual(size * 1.125);
    }
    expect(sizeClass(1_048_576)).toBe(1_048_576);
    expect(sizeClass(1_048_577)).toBe(sizeClass(1_179_648));
  });
});
