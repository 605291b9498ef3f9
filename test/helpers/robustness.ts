// Helpers for the robustness tests: seeded randomness, waiting on a running process, store checks
// that every crash, fault and hostile-input test repeats, and running bwrite under a shell setup.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { binPath, linesOf, runBwrite, sleep, startBwrite, startCommand, writeText, type RunningBwrite, type RunOptions, type RunResult } from './cli.js';

export { startCommand };
import { describeRun, importJson, importOk, readFailures, type Failure, type Summary } from './store.js';

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence, so a failure can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Run bin/bwrite after a fixed shell setup line, e.g. `ulimit -n 64`:
 * `sh -c 'SETUP; exec node bin/bwrite "$@"'` (arguments are passed as "$@", never interpolated).
 */
export function startBwriteAfter(setup: string, args: string[], opts: RunOptions = {}): RunningBwrite {
  return startCommand('/bin/sh', ['-c', `${setup}; exec "$0" "$@"`, process.execPath, binPath, ...args], opts);
}

/** Poll `check` every `everyMs` until it is true; fail with `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** `bwrite verify` (optionally `--deep`) must exit 0; `context` says which moment of the test it checks. */
export async function expectVerifies(store: string, context = '', deep = false): Promise<void> {
  const args = ['verify', '--store', store, ...(deep ? ['--deep'] : [])];
  const run = await runBwrite(args, { timeoutMs: 60_000 });
  expect(run.code, `${context}\n${describeRun(args, run)}`).toBe(0);
}

/** The raw text of `bwrite export --with-keys`, insisting on exit 0. */
export async function exportText(store: string): Promise<string> {
  const args = ['export', '--store', store, '--with-keys'];
  const run = await runBwrite(args, { timeoutMs: 60_000 });
  expect(run.code, describeRun(args, run)).toBe(0);
  return run.stdout;
}

/**
 * Two exports must be byte-for-byte equal; on a difference the message names the first differing
 * line and the line counts, instead of a diff of 100k lines.
 */
export function expectSameExport(got: string, want: string, context: string): void {
  if (got === want) return;
  const a = linesOf(got);
  const b = linesOf(want);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  expect.fail(`${context}: export differs from the reference at line ${i + 1} (got ${a.length} lines, want ${b.length})\ngot:  ${a[i] ?? '<end>'}\nwant: ${b[i] ?? '<end>'}`);
}

/** No stack trace, no Node internals: what a user sees of an error is `bwrite: ` lines only. */
export function expectNoStackTrace(stderr: string, context = ''): void {
  expect(stderr, context).not.toMatch(/^\s+at .+[:(]/m);
  expect(stderr, context).not.toMatch(/node:internal|Node\.js v\d|Uncaught|Unhandled/);
}

/** Every stderr line starts with `bwrite: ` (errors, failed items, the summary): nothing else leaks. */
export function expectOnlyBwriteLines(stderr: string, context = ''): void {
  expectNoStackTrace(stderr, context);
  for (const line of linesOf(stderr)) expect(line, `${context}\nstderr:\n${stderr}`).toMatch(/^bwrite: /);
}

/** The failures file of a run, or [] when the run reported none. */
export async function failuresOf(summary: Summary, cwd: string): Promise<Failure[]> {
  if (summary.failuresFile === null || summary.failuresFile === undefined) return [];
  return readFailures(summary.failuresFile, cwd);
}

/** The contract's bookkeeping rule for a run that was not cut short. */
export function expectAccountedFor(summary: Summary, context = ''): void {
  expect(summary.read, `${context}: read = written + skipped + failed\n${JSON.stringify(summary)}`).toBe(summary.written + summary.skipped + summary.failed);
}

/** Every entry under `dir`, as relative paths (directories end with '/'), sorted. */
export async function treeOf(dir: string): Promise<string[]> {
  const found: string[] = [];
  async function visit(current: string, rel: string): Promise<void> {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        found.push(`${relPath}/`);
        await visit(join(current, entry.name), relPath);
      } else found.push(relPath);
    }
  }
  await visit(dir, '');
  return found.sort();
}

/** Zero-padded ids sort the same as numbers, so export order is easy to predict. */
export function pad(i: number, width = 6): string {
  return String(i).padStart(width, '0');
}

/**
 * Runs `bwrite ARGS -` under /usr/bin/time (when there is one), feeding it `parts` through a pipe.
 * `stderr` is bwrite's own (what time adds is taken out); `rssMiB` is its peak RSS, or null unmeasured.
 */
export async function runMeasured(args: string[], parts: Iterable<string | Buffer>): Promise<{ run: RunResult; stderr: string; rssMiB: number | null }> {
  const timeBin = '/usr/bin/time';
  const measured = existsSync(timeBin);
  const options = { keepStdinOpen: true, timeoutMs: 60_000 };
  const running = measured ? startCommand(timeBin, ['-f', 'bwrite-test-maxrss-kb=%M', process.execPath, binPath, ...args], options) : startBwrite(args, options);
  const stdin = running.child.stdin!;
  for (const part of parts) {
    // Wait for the pipe to drain, but never past the child's end; no listener is left behind.
    await new Promise<void>((resolve) => {
      if (stdin.destroyed || stdin.write(part)) return resolve();
      const done = () => {
        stdin.off('drain', done);
        stdin.off('close', done);
        resolve();
      };
      stdin.on('drain', done);
      stdin.on('close', done);
    });
  }
  stdin.end();
  const run = await running.result;
  const rss = /bwrite-test-maxrss-kb=(\d+)/.exec(run.stderr);
  const stderr = linesOf(run.stderr)
    .filter((line) => !line.startsWith('bwrite-test-maxrss-kb=') && !line.startsWith('Command exited with non-zero status'))
    .join('\n');
  return { run, stderr, rssMiB: rss ? Number(rss[1]) / 1024 : null };
}

/** As root, mount a tmpfs of `size` and give its path; null when this machine does not allow it. */
export function tryTmpfs(size: string): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const mountPoint = mkdtempSync(join(tmpdir(), 'bwrite-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', mountPoint], { stdio: 'ignore' });
    return mountPoint;
  } catch {
    rmdirSync(mountPoint);
    return null;
  }
}

export function unmount(mountPoint: string): void {
  try {
    execFileSync('umount', [mountPoint], { stdio: 'ignore' });
    rmdirSync(mountPoint);
  } catch {
    // Left for the OS to clean up; never fail a test for it.
  }
}

/**
 * What the store says of its runs and of `source`'s committed prefix (read-only, opened per call);
 * null while the store is still being created (no index, or its schema not yet committed).
 */
export async function progressOf(store: string, source: string): Promise<{ runs: number; records: number } | null> {
  if (!(await exists(join(store, 'index.db')))) return null;
  let db: Database.Database | undefined;
  try {
    db = new Database(join(store, 'index.db'), { readonly: true, fileMustExist: true });
    const runs = (db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n;
    const row = db.prepare('SELECT records FROM sources WHERE name = ?').get(source) as { records: number } | undefined;
    return { runs, records: row?.records ?? 0 };
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/**
 * A compressed file cut in half and imported with --resume fails one E_READ item without moving
 * the watermark past it; completed in place (same inode, same first bytes), --resume then stores
 * every record and the store equals one made from the whole file.
 */
export async function expectCutFileResumesOnceCompleted(work: string, full: Buffer, suffix: string, records: number): Promise<void> {
  const store = join(work, 'store');
  const fullFile = await writeText(join(work, `full.ndjson.${suffix}`), full);
  await importOk(join(work, 'clean'), [fullFile]);
  const clean = await exportText(join(work, 'clean'));
  const growing = await writeText(join(work, `growing.ndjson.${suffix}`), full.subarray(0, Math.floor(full.length / 2)));

  const partial = await importJson(store, ['--resume', growing], { cwd: work });
  expect(partial.run.code, describeRun(partial.args, partial.run)).toBe(1);
  expect(partial.summary).toMatchObject({ status: 'partial', failed: 1 });
  const [failure] = await failuresOf(partial.summary, work);
  expect(failure).toMatchObject({ code: 'E_READ', raw: null, line: partial.summary.written + 1 });
  expect(partial.summary.written).toBeGreaterThan(0);

  await writeFile(growing, await readFile(fullFile));
  const resumed = await importJson(store, ['--resume', growing], { cwd: work });
  expect(resumed.run.code, describeRun(resumed.args, resumed.run)).toBe(0);
  expect(resumed.summary).toMatchObject({ status: 'ok', read: records, skipped: partial.summary.written, written: records - partial.summary.written, failed: 0 });
  expectSameExport(await exportText(store), clean, `a cut .${suffix} file completed in place, then resumed`);
  await expectVerifies(store, `after the completed .${suffix} file was resumed`, true);
}

