import { classifyError } from '../errors.js';

export interface RetryPolicy {
  /** Extra attempts after the first, for transient errors only. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, baseDelayMs: 100, maxDelayMs: 5000 };

/** Full jitter: a random delay up to base·2^(retry−1), capped, so retrying writers spread out. */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(random() * ceiling);
}

export interface RetryHooks {
  onRetry?: (error: unknown, retry: number, delayMs: number) => void;
  /** Called around each backoff sleep, e.g. to give a concurrency permit back meanwhile. */
  beforeSleep?: () => void;
  afterSleep?: () => Promise<void>;
  /** Once aborted (a SIGINT/SIGTERM), no further attempt is made: the error is `interrupted`. */
  signal?: AbortSignal;
  /** True for an error the caller has adapted to (fewer writes in flight): it does not use up a retry. */
  uncounted?: (error: unknown) => boolean;
}

/** The error of the last attempt, with how many attempts were made. */
export class AttemptsError extends Error {
  readonly attempts: number;
  /** A transient error whose retries the signal cut short: the item neither succeeded nor failed. */
  readonly interrupted: boolean;
  constructor(cause: unknown, attempts: number, interrupted = false) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.attempts = attempts;
    this.interrupted = interrupted;
  }
}

/** Runs `operation`, retrying transient errors with backoff; never retries anything else. */
export async function withRetry<T>(operation: () => T | Promise<T>, policy: RetryPolicy, hooks: RetryHooks = {}): Promise<{ value: T; attempts: number }> {
  let counted = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await operation(), attempts: attempt };
    } catch (error) {
      if (classifyError(error) !== 'transient') throw new AttemptsError(error, attempt);
      if (!hooks.uncounted?.(error)) counted++;
      if (counted > policy.retries) throw new AttemptsError(error, attempt);
      if (hooks.signal?.aborted) throw new AttemptsError(error, attempt, true);
      const delay = backoffDelay(policy, Math.max(1, counted));
      hooks.onRetry?.(error, attempt, delay);
      hooks.beforeSleep?.();
      await sleep(delay, hooks.signal);
      await hooks.afterSleep?.();
      if (hooks.signal?.aborted) throw new AttemptsError(error, attempt, true);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
