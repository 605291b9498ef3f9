import { errorCode } from '../errors.js';
import type { Semaphore } from './semaphore.js';

const FD_EXHAUSTED = new Set(['EMFILE', 'ENFILE']);

/**
 * Adapts the writer's concurrency to the file-descriptor limit. EMFILE/ENFILE mean our own writes
 * hold too many files open: retrying at the same concurrency just meets the limit again, and
 * under a low `ulimit -n` items would fail after their retries. So each such error halves the
 * permits handed out, down to 1, and every `size` successes give one back
 * (additive increase, like TCP's congestion window) up to the configured maximum.
 */
export class FdThrottle {
  private readonly semaphore: Semaphore;
  private readonly max: number;
  private successes = 0;

  constructor(semaphore: Semaphore) {
    this.semaphore = semaphore;
    this.max = semaphore.size;
  }

  /**
   * Called for each transient error: true when it was EMFILE/ENFILE and the concurrency could be
   * lowered, so the failed attempt was our doing and does not use up one of the item's retries.
   * At one permit it counts like any transient error, so a limit held by others still ends.
   */
  lowered(error: unknown): boolean {
    if (!FD_EXHAUSTED.has(errorCode(error))) return false;
    const size = this.semaphore.size;
    this.successes = 0;
    if (size <= 1) return false;
    this.semaphore.resize(Math.max(1, Math.floor(size / 2)));
    return true;
  }

  succeeded(): void {
    const size = this.semaphore.size;
    if (size >= this.max) return;
    if (++this.successes < size) return;
    this.successes = 0;
    this.semaphore.resize(size + 1);
  }
}
