import { Command, Option } from 'commander';
import { DEFAULT_CONCURRENCY, DEFAULT_INLINE_MAX, DEFAULT_MAX_RECORD_BYTES } from '../defaults.js';
import { COUNT_ON_READ_MAX_ITEMS } from '../store/totals.js';
import { formatCount } from './format.js';
import type { ImportOptions } from './import-command.js';
import { withoutControlCharacters, type Output } from './output.js';
import { blobsUrl, columnList, DEFAULT_STORE, delimiter, duration, encodingName, integer, oneOf, storeDir, typeTag } from './parse-options.js';
import type { GcOptions } from './admin-commands.js';
import type { CopyCommandOptions } from './copy-command.js';
import type { DeleteOptions } from './delete-command.js';
import type { StatsOptions } from './stats-command.js';

export const DEFAULT_BATCH_SIZE = 500;

const IMPORT_EXAMPLES = `
Examples:
  $ bwrite import data.ndjson --concurrency 20
  $ bwrite import --key 'sensor:{sensor}:{ts}' readings.csv.gz
  $ bwrite import --encoding windows-1252 --relax-quotes export-from-excel.csv
  $ zcat dump.jsonl.gz | bwrite import - --key user.id --json
  $ bwrite import --format tsv --no-header --columns id,name,score scores.txt
  # cron: import a growing log every 5 minutes, only what is new, metrics for node_exporter;
  # the log gains one summary line per run (and a line for each of the first ten failed items)
  */5 * * * * bwrite import --resume --progress none --metrics-file /var/lib/node_exporter/bwrite.prom /var/log/app/events.ndjson >> /var/log/bwrite.log 2>&1

Exit codes: 0 all stored, 1 some items failed or --max-errors stopped the run, 2 bad invocation,
3 the store cannot be used, 130/143 interrupted by SIGINT/SIGTERM.`;

const STATS_HELP = `
Items, bytes and items by type are running totals, exact at every moment. Distinct values (blob
files, inline values, stored bytes, dedup ratio) take a scan of every item: stats counts them
itself while the store holds at most ${formatCount(COUNT_ON_READ_MAX_ITEMS)} items; above that it shows the latest count
(made by --recount) and, once the items changed since, when that count was made.

Examples:
  $ bwrite stats --prometheus > /var/lib/node_exporter/bwrite_store.prom
  $ bwrite stats --recount --json`;

const GC_EXAMPLES = `
Examples:
  $ bwrite gc --dry-run
  # cron: every night, one line in the log per run
  0 3 * * * bwrite gc --failures-older-than 30d >> /var/log/bwrite-gc.log 2>&1`;

const DELETE_HELP = `
Exit codes: 0 done, 1 a named key was absent (the others are deleted), 2 bad invocation,
3 the store cannot be used, 130/143 interrupted (the batches deleted so far stay deleted).
The values' blobs stay until 'bwrite gc' removes what nothing refers to.

Examples:
  $ bwrite delete user:17 user:18
  $ bwrite delete --prefix 'tmp:' --dry-run
  $ grep -v '^#' stale-keys.txt | bwrite delete --from - --json`;

const COPY_HELP = `
Copies every item (value, type, source and line) in key order, a batch per transaction; a key the
destination already holds with the same value is left alone, with another value it is replaced, and
keys only the destination holds stay. Run again with the same --from and --to, an interrupted copy
goes on after its last committed batch. At the end every source key is checked in the destination
(SHA-256, size, type) and the blobs this run went through are read back.

Exit codes: 0 copied and verified, 1 an item could not be copied or the check found a difference
(each listed), 2 bad invocation, 3 a store cannot be used, 130/143 interrupted.

Examples:
  $ bwrite copy --from ./bwrite-store --to /srv/backup/bwrite-store
  $ bwrite copy --from ./bwrite-store --to /mnt/new-disk/store --json | jq .verified`;

/**
 * The `bwrite` program; each action resolves to its exit code through `setExit`. Commands are
 * loaded when run, so `--version` and `stats` do not pay for the import machinery's modules.
 */
export function buildProgram(output: Output, setExit: (code: number) => void, version: string): Command {
  const program = new Command('bwrite')
    .description('Bulk import of NDJSON, JSON, CSV and TSV into a local content-addressed store, through one bounded-concurrency writer.')
    .version(version, '-V, --version', 'print the version')
    .configureOutput({ outputError: (text, write) => write(`bwrite: ${oneLine(text)} (see 'bwrite --help')\n`) })
    .exitOverride();
  program.addHelpText('after', IMPORT_EXAMPLES);

  // BWRITE_STORE goes through the same check as --store: an empty one is an error, not the current directory.
  const storeOption = () => new Option('-s, --store <dir>', 'the store directory, or postgres://USER@HOST:PORT/DB[?schema=NAME] for a store in PostgreSQL').env('BWRITE_STORE').default(DEFAULT_STORE).argParser(storeDir);
  const blobsOption = () =>
    new Option('--blobs <url>', 's3://BUCKET/PREFIX: values over --inline-max go there (remembered by the store: readers need not repeat it)').env('BWRITE_BLOBS').argParser(blobsUrl);

  // What import and retry share; retry reads failures files, which are NDJSON: no format options.
  const withImportOptions = (command: Command) =>
    command
      .addOption(storeOption())
      .addOption(blobsOption())
      .option('-k, --key <spec>', "key: a field, a dotted path (user.id), or a template ('sensor:{sensor}:{ts}', {$hash}, {$line})", 'id')
      .option('-c, --concurrency <n>', 'most value writes in flight at once', integer(1, 1024), DEFAULT_CONCURRENCY)
      .option('-b, --batch-size <n>', 'records per batch; a batch commits in one transaction (batches ready at once may share one)', integer(1, 1_000_000), DEFAULT_BATCH_SIZE)
      .option('--retries <n>', 'extra attempts for a transient error, per item', integer(0, 100), 5)
      .option('--retry-delay <ms>', 'first backoff delay, doubled each attempt, with full jitter', integer(0, 3_600_000), 100)
      .option('--retry-max-delay <ms>', 'backoff cap', integer(0, 3_600_000), 5000)
      .addOption(new Option('--on-conflict <mode>', 'when a key is already stored: replace (last occurrence wins), skip, fail').default('replace').argParser(oneOf('replace', 'skip', 'fail')))
      .option('--max-errors <n>', 'stop reading after this many failed items', integer(1))
      .option('--failures <file>', 'where failed items go (default: <store>/failures/<run id>.ndjson)')
      .option('--resume', 'skip what an earlier run of the same input committed; import the rest')
      .option('--inline-max <bytes>', 'values up to this size are kept inside the index (0: every value in blobs/)', integer(0, 1024 * 1024 * 1024), DEFAULT_INLINE_MAX)
      .option('--max-record-size <bytes>', 'the largest record accepted; longer ones fail alone', integer(2, 1024 * 1024 * 1024), DEFAULT_MAX_RECORD_BYTES)
      .option('--type <tag>', 'type tag recorded with each value (printable, at most 64 characters)', typeTag, 'json')
      .option('--source-name <name>', 'name standard input, so --resume can find where it stopped')
      .option('--dry-run', 'parse and derive keys; report what would be written; write nothing')
      .addOption(new Option('--progress <mode>', 'auto (a bar on a terminal), bar, log, none').default('auto').argParser(oneOf('auto', 'bar', 'log', 'none')))
      .option('-q, --quiet', 'print nothing but errors')
      .option('--json', "print the run's summary as one JSON object on standard output")
      .option('--metrics-file <file>', 'write Prometheus text metrics of the run there, atomically')
      .option('--durable', 'flush blobs, directories and the index to stable storage before a batch counts');

  const withFormatOptions = (command: Command) =>
    command
      .addOption(new Option('-f, --format <format>', 'input format: ndjson, json, csv or tsv (default: from the extension; stdin: json if it starts with [, else ndjson)').argParser(oneOf('ndjson', 'json', 'csv', 'tsv')))
      .option('--delimiter <char>', 'CSV field delimiter (\\t for a tab)', delimiter)
      .option('--no-header', 'CSV/TSV input has no header row (needs --columns)')
      .option('--columns <names>', 'column names, comma-separated, for --no-header', columnList)
      .option('--infer-types', 'CSV/TSV: numbers, booleans and empty-as-null instead of strings')
      .option('--relax-quotes', 'CSV: a quote inside an unquoted field is data (12" pipe), not an error')
      .option('--encoding <enc>', "the input's encoding: utf-8, latin1 (iso-8859-1), windows-1252, utf-16le, utf-16be (default: utf-8, or UTF-16 by its byte-order mark)", encodingName);

  withFormatOptions(withImportOptions(program.command('import').argument('[files...]', "inputs; '-' is standard input").description('import NDJSON, JSON, CSV or TSV records into the store')))
    .addHelpText('after', IMPORT_EXAMPLES)
    .action(async (files: string[], options: ImportOptions) => setExit(await (await import('./import-command.js')).importCommand(files, options, output, 'import')));

  withImportOptions(program.command('retry').argument('[failures...]', 'failures files written by an earlier import').description('import again the records of a failures file'))
    .addHelpText('after', '\nExample:\n  $ bwrite retry ./bwrite-store/failures/20261124T101500Z-3fa9c1.ndjson')
    .action(async (files: string[], options: Omit<ImportOptions, 'header'>) =>
      setExit(await (await import('./import-command.js')).importCommand(files, { ...options, header: true }, output, 'retry')),
    );

  program
    .command('get')
    .argument('<key>', 'the key')
    .description('print a stored value and a newline (exit 1 when the key is absent)')
    .addOption(storeOption())
    .addOption(blobsOption())
    .addHelpText('after', "\nExample:\n  $ bwrite get 'sensor:42:1700000000' | jq .")
    .action(async (key: string, options: { store: string; blobs?: string }) => setExit(await (await import('./read-commands.js')).getCommand(key, options, output)));

  program
    .command('export')
    .description('print every stored value as NDJSON, ordered by key')
    .addOption(storeOption())
    .addOption(blobsOption())
    .option('--prefix <p>', 'only keys that start with this')
    .option('--with-keys', 'print {"key": …, "value": …} lines')
    .addHelpText('after', "\nExample:\n  $ bwrite export --prefix 'user:' --with-keys | gzip > users.ndjson.gz")
    .action(async (options: { store: string; blobs?: string; prefix?: string; withKeys?: boolean }) => setExit(await (await import('./read-commands.js')).exportCommand(options, output)));

  program
    .command('stats')
    .description('what the store holds and how the latest runs went')
    .addOption(storeOption())
    .addOption(blobsOption())
    .addOption(new Option('--json', 'as one JSON object').conflicts('prometheus'))
    .option('--prometheus', 'as Prometheus text exposition')
    .option('--recount', 'count the distinct values (blob files, inline values, stored bytes) now: reads every item')
    .addHelpText('after', STATS_HELP)
    .action(async (options: StatsOptions) => setExit(await (await import('./stats-command.js')).statsCommand(options, output)));

  program
    .command('verify')
    .description("check that every index row's value is on disk with its size (--deep: and its hash)")
    .addOption(storeOption())
    .addOption(blobsOption())
    .option('--deep', 're-hash every value')
    .option('--json', 'as one JSON object')
    .addHelpText('after', '\nExample:\n  $ bwrite verify --deep || echo "store damaged"')
    .action(async (options: { store: string; blobs?: string; deep?: boolean; json?: boolean }) => setExit(await (await import('./admin-commands.js')).verifyCommand(options, output)));

  program
    .command('gc')
    .description('remove blobs nothing refers to and leftover temporary files; with --failures-older-than, old failures files')
    .addOption(storeOption())
    .addOption(blobsOption())
    .option('--dry-run', 'print what would be freed; remove nothing')
    .option('--failures-older-than <duration>', "also remove the store's failures files last written longer ago than this (30d, 12h, 90m), but not those of runs still running", duration)
    .option('--json', 'as one JSON object')
    .addHelpText('after', GC_EXAMPLES)
    .action(async (options: GcOptions) => setExit(await (await import('./admin-commands.js')).gcCommand(options, output)));

  program
    .command('delete')
    .argument('[keys...]', 'the keys to delete')
    .description('delete items: named keys, the keys of a list, or every key with a prefix')
    .addOption(storeOption())
    .addOption(blobsOption())
    .option('--prefix <p>', 'delete every item whose key starts with this (not empty: see --all)')
    .option('--from <file>', "read the keys from a file, one a line ('-' for standard input)")
    .option('--all', 'delete every item of the store')
    .option('--dry-run', 'say what would be deleted; delete nothing')
    .option('-q, --quiet', 'print nothing but errors')
    .option('--json', "print the run's summary as one JSON object on standard output")
    .addHelpText('after', DELETE_HELP)
    .action(async (keys: string[], options: DeleteOptions) => setExit(await (await import('./delete-command.js')).deleteCommand(keys, options, output)));

  program
    .command('copy')
    .description('copy every item of one store into another, resumable, and check the copy at the end')
    .requiredOption('--from <store>', 'the store to copy', storeDir)
    .requiredOption('--to <store>', 'the store to copy into (created if absent)', storeDir)
    .option('--blobs-from <url>', "s3://BUCKET/PREFIX: where the source's values over its inline maximum are (the store remembers it: needed only to check it)", blobsUrl)
    .option('--blobs-to <url>', "s3://BUCKET/PREFIX: where the destination's values over --inline-max go (remembered by it)", blobsUrl)
    .option('-b, --batch-size <n>', 'source items per batch; a batch and the copy\'s progress commit in one transaction', integer(1, 1_000_000), DEFAULT_BATCH_SIZE)
    .option('-c, --concurrency <n>', 'most value reads and writes in flight at once', integer(1, 1024), DEFAULT_CONCURRENCY)
    .option('--retries <n>', 'extra attempts for a transient error, per item', integer(0, 100), 5)
    .option('--retry-delay <ms>', 'first backoff delay, doubled each attempt, with full jitter', integer(0, 3_600_000), 100)
    .option('--retry-max-delay <ms>', 'backoff cap', integer(0, 3_600_000), 5000)
    .option('--inline-max <bytes>', "values up to this size are kept inside the destination's index (0: every value in its blobs)", integer(0, 1024 * 1024 * 1024), DEFAULT_INLINE_MAX)
    .option('--durable', 'flush blobs, directories and the index to stable storage before a batch counts')
    .addOption(new Option('--progress <mode>', 'auto (a bar on a terminal), bar, log, none').default('auto').argParser(oneOf('auto', 'bar', 'log', 'none')))
    .option('-q, --quiet', 'print nothing but errors')
    .option('--json', "print the copy's summary as one JSON object on standard output")
    .addHelpText('after', COPY_HELP)
    .action(async (options: CopyCommandOptions) => setExit(await (await import('./copy-command.js')).copyCommand(options, output)));

  return program;
}

/** Commander's message, suggestion line included ("Did you mean import?"), on one line. */
function oneLine(text: string): string {
  return text
    .trim()
    .split(/\r?\n/)
    .map((line) => withoutControlCharacters(line.trim()))
    .filter((line) => line !== '')
    .join(' ');
}
