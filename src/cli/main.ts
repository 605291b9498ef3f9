import { createRequire } from 'node:module';
import { CommanderError } from 'commander';
import { BwriteError, PG_DENIED_CODES } from '../errors.js';
import { isInterruptedExitCode } from './exit-codes.js';
import { processOutput } from './output.js';
import { buildProgram } from './program.js';

// The SDK warns on every run under Node 20 of a support change in its later releases: nothing a
// user of this bwrite can act on, and not one line on stderr. Still shown when set to false.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const STORE_CODES = new Set(['E_STORE', 'E_DAMAGED', 'ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EACCES', 'EPERM', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'E_S3_DENIED', 'E_S3_UNAVAILABLE', 'E_S3_CONFIG', ...PG_DENIED_CODES]);

/** Runs the CLI and returns the exit code; errors become one line on stderr, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  let exitCode = 0;
  const program = buildProgram(processOutput, (code) => (exitCode = code), version);
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return error.exitCode === 0 ? 0 : 2;
    if (error.code === 'commander.executeSubCommandAsync') return 0;
    return 2;
  }
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof BwriteError && (code === 'E_USAGE' || code === 'E_INPUT')) {
    processOutput.error(message, { prefix: 'bwrite: error: ' });
    return 2;
  }
  if (code === 'EPIPE') return 0;
  if (code === 'EMFILE' || code === 'ENFILE') {
    // Node opens a command's modules all at once as it loads them, before bwrite can adapt.
    processOutput.error(`too many open files to start (${message}); raise the open-file limit, e.g. 'ulimit -n 256'`, { prefix: 'bwrite: error: ' });
    return 1;
  }
  if (STORE_CODES.has(code) || code.startsWith('SQLITE_')) {
    processOutput.error(message, { prefix: 'bwrite: error: ' });
    return 3;
  }
  processOutput.error(`${message} (an unexpected error; please report it with the command that caused it)`, { prefix: 'bwrite: error: ' });
  if (process.env.BWRITE_DEBUG) console.error(error);
  return 1;
}

// Messages for people are best effort: a closed stderr (`2>&1 | head`) must not stop an import.
process.stderr.on('error', () => {});

// A reader that went away (`bwrite export | head`) ends a read command quietly. Any other failure
// to write (a full disk behind `> file`) is one line and exit 1. Either way, a run whose work is
// done keeps the exit code it earned: `import --json | true` still exits 1 for a partial run.
let finished: number | null = null;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') processOutput.error(`cannot write to standard output: ${error.message}`, { prefix: 'bwrite: error: ' });
  process.exit(finished ?? (error.code === 'EPIPE' ? 0 : 1));
});

main(process.argv).then((code) => {
  finished = code;
  process.exitCode = code;
  // A run a signal interrupted ends here, once its output is written, not at the end of Node's
  // teardown: that closes the signal handlers first, and a second Ctrl-C or SIGTERM landing then,
  // right after the summary, would kill the process without its exit code.
  if (isInterruptedExitCode(code)) exitOnceWritten(code);
});

function exitOnceWritten(code: number): void {
  let waiting = 2;
  const written = () => {
    if (--waiting === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.writableLength === 0) written();
    else stream.write('', written);
  }
}
