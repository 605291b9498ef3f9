import type { Writable } from 'node:stream';

/**
 * Resolves when a writable that refused a write wants more (`drain`) or is gone (`close`).
 * Both listeners are removed whichever fires, so a long feed loop does not pile up `close`
 * listeners (one per full buffer) until Node warns about a leak.
 */
export function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
