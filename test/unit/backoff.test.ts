import { describe, expect, it } from 'vitest';
import { backoffDelay, withRetry } from '../../src/pipeline/retry.js';

const policy = { retries: 3, baseDelayMs: 100, maxDelayMs: 1000 };

describe('backoffDelay', () => {
  it('doubles its ceiling each retry and never exceeds the cap (full jitter)', () => {
    expect(backoffDelay(policy, 1, () => 0.999999)).toBe(100);
    expect(backoffDelay(policy, 2, () => 0.999999)).toBe(200);
    expect(backoffDelay(policy, 3, () => 0.999999)).toBe(400);
    expect(backoffDelay(policy, 10, () => 0.999999)).toBe(1000);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
  });
});

describe('withRetry', () => {
  const fast = { retries: 3, baseDelayMs: 1, maxDelayMs: 2 };
  const failing = (code: string, times: number) => {
    let calls = 0;
    return {
      calls: () => calls,
      run: () => {
        calls++;
        if (calls <= times) throw Object.assign(new Error(code), { code });
        return 'done';
      },
    };
  };

  it('retries a transient error until it succeeds and reports the attempts', async () => {
    const op = failing('EAGAIN', 2);
    await expect(withRetry(op.run, fast)).resolves.toEqual({ value: 'done', attempts: 3 });
  });

  it('gives up on a transient error after the retries, with the attempts made', async () => {
    const op = failing('SQLITE_BUSY', 10);
    await expect(withRetry(op.run, fast)).rejects.toMatchObject({ attempts: 4 });
    expect(op.calls()).toBe(4);
  });

  it('does not count an error the caller adapted to (uncounted) against the retries', async () => {
    const op = failing('EMFILE', 6);
    await expect(withRetry(op.run, fast, { uncounted: () => op.calls() <= 4 })).resolves.toEqual({ value: 'done', attempts: 7 });
  });

  it('marks a transient error whose retries an aborted signal cut short as interrupted', async () => {
    const controller = new AbortController();
    const op = failing('EAGAIN', 10);
    const running = withRetry(op.run, { retries: 50, baseDelayMs: 10_000, maxDelayMs: 10_000 }, { signal: controller.signal });
    controller.abort();
    await expect(running).rejects.toMatchObject({ interrupted: true, attempts: 1 });
  });

  it.each(['EACCES', 'ENOSPC', 'E_PARSE'])('never retries %s', async (code) => {
    const op = failing(code, 10);
    await expect(withRetry(op.run, fast)).rejects.toMatchObject({ attempts: 1 });
    expect(op.calls()).toBe(1);
  });
});
