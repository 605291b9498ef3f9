import { BwriteError } from '../errors.js';
import { formatHint, type HintContext } from './format-hints.js';
import type { FailureEvent, ReadEvent } from './records.js';

/** How many of an input's first records must fail, all of them, before it is judged by its look. */
export const FORMAT_PROBE_RECORDS = 8;

/** Failures that say a line is not in the input's format, rather than a record of it that is wrong. */
const FORMAT_CODES = new Set<FailureEvent['code']>(['E_PARSE', 'E_NOT_OBJECT', 'E_INVALID_UTF8', 'E_CSV', 'E_CSV_COLUMNS', 'E_RECORD_TOO_LARGE']);

/** An input that plainly is not in the format it is read as: the run stops with exit 2 and this hint. */
export class WrongFormatError extends BwriteError {
  constructor(message: string) {
    super('E_FORMAT', message);
    this.name = 'WrongFormatError';
  }
}

/**
 * An input's events, its first ones held back until they show that it is what its format says:
 * the first record that is stored, or a failure of another kind (a missing key), lets everything
 * through. If instead its first FORMAT_PROBE_RECORDS records (or all of them, if it has fewer) fail
 * as unreadable and what they hold looks like another format, WrongFormatError is thrown before
 * any of them is handed on: nothing of that input is written or listed as failed, and its
 * watermark stays where it was, so the same command with the right flag imports it whole.
 * Once that is decided, `next` is the reader's own: an async generator between the two, for
 * every chunk of a long input, made an import whose every record fails peak far higher.
 */
export function guardFormat(events: AsyncIterable<ReadEvent[]>, context: HintContext): AsyncIterable<ReadEvent[]> {
  const guard = new FormatGuard(events[Symbol.asyncIterator](), context);
  return { [Symbol.asyncIterator]: () => guard };
}

class FormatGuard implements AsyncIterator<ReadEvent[]> {
  private decided = false;
  /** A read error met while events were held: thrown at the next call, after they are handed on. */
  private pending: unknown = null;

  constructor(
    private readonly iterator: AsyncIterator<ReadEvent[]>,
    private readonly context: HintContext,
  ) {}

  next(): Promise<IteratorResult<ReadEvent[]>> {
    if (this.pending !== null) {
      const error = this.pending;
      this.pending = null;
      return Promise.reject(error);
    }
    if (this.decided) return this.iterator.next();
    this.decided = true;
    return this.probe();
  }

  return(value?: unknown): Promise<IteratorResult<ReadEvent[]>> {
    return this.iterator.return?.(value) ?? Promise.resolve({ done: true, value: undefined });
  }

  /** Reads until the input shows what it is: the events held so far are then handed on at once. */
  private async probe(): Promise<IteratorResult<ReadEvent[]>> {
    const held: ReadEvent[] = [];
    for (;;) {
      let next: IteratorResult<ReadEvent[]>;
      try {
        next = await this.iterator.next();
      } catch (error) {
        // A read error (damaged compressed data) comes after the lines read before it, as it would unguarded.
        if (held.length === 0) throw error;
        this.pending = error;
        return { done: false, value: held };
      }
      if (next.done) {
        judge(held, this.context);
        return held.length > 0 ? { done: false, value: held } : next;
      }
      for (const [i, event] of next.value.entries()) {
        if (event.kind === 'failure' && FORMAT_CODES.has(event.code)) {
          held.push(event);
          if (held.length < FORMAT_PROBE_RECORDS) continue;
          judge(held, this.context);
          return { done: false, value: [...held, ...next.value.slice(i + 1)] };
        }
        return { done: false, value: [...held, ...next.value.slice(i)] };
      }
    }
  }
}

/** Throws WrongFormatError when every one of `failures` (there is at least one) says the input looks like another format. */
function judge(failures: ReadEvent[], context: HintContext): void {
  if (failures.length === 0) return;
  const hint = formatHint(failures as FailureEvent[], context);
  if (hint) throw new WrongFormatError(`${context.name}: ${hint}`);
}
