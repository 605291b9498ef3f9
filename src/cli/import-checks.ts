import { BwriteError } from '../errors.js';
import { formatFromName, type FormatChoice } from '../input/source.js';
import { MIN_LEASE_MS } from '../store/run-lease.js';
import { outputFileProblem } from '../output-file.js';
import type { ImportOptions } from './import-command.js';

/** Options that contradict each other or have nothing to act on: usage errors (exit 2), never ignored. */
export function validateCombination(files: string[], options: ImportOptions): void {
  if (files.length === 0) throw new BwriteError('E_USAGE', 'no input given: name at least one FILE, or - for standard input');
  if (files.filter((file) => file === '-').length > 1) throw new BwriteError('E_USAGE', 'standard input (-) can be named only once');
  if (options.resume && files.includes('-') && !options.sourceName) {
    throw new BwriteError('E_USAGE', '--resume on standard input needs --source-name NAME, so the store knows which stream it is resuming');
  }
  if (!options.header && !options.columns) throw new BwriteError('E_USAGE', '--no-header needs --columns a,b,c');
  // Without --no-header the first row names the columns; --columns would be silently ignored.
  if (options.header && options.columns) {
    throw new BwriteError('E_USAGE', '--columns names the columns of an input without a header row: add --no-header, or drop --columns to take the names from the first row');
  }
  if (options.retryMaxDelay < options.retryDelay) throw new BwriteError('E_USAGE', '--retry-max-delay must be at least --retry-delay');
}

/**
 * `--failures FILE` is created (with its directories) on the first failure and appended to: a path
 * that cannot be is a usage error now, not a store failure after the run has read its input.
 */
export function checkFailuresFile(file: string): void {
  const problem = outputFileProblem(file, 'append');
  if (problem) throw new BwriteError('E_USAGE', `--failures ${file}: ${problem}`);
}

/** A CSV-only option with no CSV or TSV input to act on is a mistake, not something to ignore. */
export function checkCsvOptions(formats: FormatChoice[], options: ImportOptions): void {
  if (formats.some((format) => format === 'csv' || format === 'tsv')) return;
  const given = [
    options.delimiter !== undefined && '--delimiter',
    !options.header && '--no-header',
    options.columns !== undefined && '--columns',
    options.inferTypes && '--infer-types',
    options.relaxQuotes && '--relax-quotes',
  ].filter((name): name is string => typeof name === 'string');
  if (given.length > 0) {
    const why = 'every input here is JSON or NDJSON; use --format csv or tsv if it is not';
    throw new BwriteError('E_USAGE', `${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to CSV and TSV input only, and ${why}`);
  }
}

export function resolveFormat(file: string, options: ImportOptions): FormatChoice {
  if (options.format) return options.format;
  if (file === '-') return 'json-or-ndjson';
  const format = formatFromName(file);
  if (!format) throw new BwriteError('E_USAGE', `cannot tell the format of ${file} from its name; add --format ndjson, json, csv or tsv`);
  return format;
}

/**
 * `BWRITE_LEASE_MS`: how long a run's lease lasts without a renewal (default 30 s), for tests.
 * Read here and passed to the store as an option: the store and the pipeline never read the environment.
 */
export function leaseFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.BWRITE_LEASE_MS;
  if (text === undefined || text.trim() === '') return undefined;
  const ms = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(ms) || ms < MIN_LEASE_MS) {
    throw new BwriteError('E_USAGE', `BWRITE_LEASE_MS must be a whole number of milliseconds, at least ${MIN_LEASE_MS}, got '${text}'`);
  }
  return ms;
}
