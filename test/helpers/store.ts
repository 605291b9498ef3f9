// What a user sees of a store: summaries, get/export output, failures files, files on disk.
import { createHash } from 'node:crypto';
import { readFile, readdir, lstat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Stats } from 'node:fs';
import { expect } from 'vitest';
import { fixture, linesOf, runBwrite, type RunOptions, type RunResult } from './cli.js';

export interface Summary {
  status: 'ok' | 'partial' | 'aborted' | 'interrupted';
  runId: string;
  read: number;
  written: number;
  skipped: number;
  failed: number;
  retries: number;
  bytes: number;
  durationMs: number;
  itemsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number };
  failuresFile: string | null;
  [field: string]: unknown;
}

export interface Failure {
  source: string;
  line: number;
  key: string | null;
  error: string;
  code: string;
  attempts: number;
  record?: unknown;
  raw?: string;
  [field: string]: unknown;
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Describe a run for assertion messages. */
export function describeRun(args: string[], run: RunResult): string {
  return `bwrite ${args.join(' ')}\nexit: ${run.code} signal: ${run.signal}\nstdout: ${run.stdout.slice(0, 2000)}\nstderr: ${run.stderr.slice(0, 2000)}`;
}

/** Parse the single JSON object that `--json` prints on stdout. */
export function parseSummary(args: string[], run: RunResult): Summary {
  try {
    const value: unknown = JSON.parse(run.stdout);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as Summary;
  } catch (error) {
    throw new Error(`stdout is not one JSON object (${(error as Error).message})\n${describeRun(args, run)}`);
  }
}

/** `bwrite import ARGS --store STORE --json`, returning the run and its parsed summary. */
export async function importJson(
  store: string,
  args: string[],
  opts: RunOptions = {},
  command = 'import',
): Promise<{ run: RunResult; summary: Summary; args: string[] }> {
  const full = [command, '--store', store, '--json', ...args];
  const run = await runBwrite(full, opts);
  return { run, summary: parseSummary(full, run), args: full };
}

/** Import and insist on exit 0. */
export async function importOk(store: string, args: string[], opts: RunOptions = {}): Promise<Summary> {
  const { run, summary, args: full } = await importJson(store, args, opts);
  expect(run.code, describeRun(full, run)).toBe(0);
  return summary;
}

/** `bwrite export` lines (raw text), insisting on exit 0. */
export async function exportLines(store: string, extra: string[] = []): Promise<string[]> {
  const args = ['export', '--store', store, ...extra];
  const run = await runBwrite(args);
  expect(run.code, describeRun(args, run)).toBe(0);
  return linesOf(run.stdout);
}

/** `bwrite export` values, parsed. */
export async function exportValues(store: string, extra: string[] = []): Promise<unknown[]> {
  return (await exportLines(store, extra)).map((line) => JSON.parse(line) as unknown);
}

/** `bwrite export --with-keys` as a key → value map (insertion order = export order). */
export async function exportMap(store: string): Promise<Map<string, unknown>> {
  const map = new Map<string, unknown>();
  for (const line of await exportLines(store, ['--with-keys'])) {
    const entry = JSON.parse(line) as { key: string; value: unknown };
    map.set(entry.key, entry.value);
  }
  return map;
}

export function getValue(store: string, key: string): Promise<RunResult> {
  return runBwrite(['get', '--store', store, '--', key]);
}

/** `bwrite stats --json`, parsed. */
export async function statsJson(store: string): Promise<Record<string, unknown> & { runs: Record<string, unknown>[] }> {
  const args = ['stats', '--store', store, '--json'];
  const run = await runBwrite(args);
  expect(run.code, describeRun(args, run)).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown> & { runs: Record<string, unknown>[] };
}

/** Read the failures file named in a summary (relative paths are relative to the run's cwd). */
export async function readFailures(file: string | null | undefined, cwd: string): Promise<Failure[]> {
  expect(typeof file, 'failuresFile should be a path').toBe('string');
  const text = await readFile(resolve(cwd, file as string), 'utf8');
  return linesOf(text)
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Failure);
}

/** Every entry under a directory (recursively), with lstat. */
export async function walk(dir: string): Promise<{ path: string; rel: string; stat: Stats }[]> {
  const found: { path: string; rel: string; stat: Stats }[] = [];
  async function visit(current: string, rel: string): Promise<void> {
    for (const name of await readdir(current)) {
      const path = join(current, name);
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const stat = await lstat(path);
      found.push({ path, rel: relPath, stat });
      if (stat.isDirectory()) await visit(path, relPath);
    }
  }
  await visit(dir, '');
  return found;
}

/** Files under `<store>/blobs`, with their path relative to `blobs/`. */
export async function blobFiles(store: string): Promise<{ path: string; rel: string; stat: Stats }[]> {
  try {
    return (await walk(join(store, 'blobs'))).filter((entry) => entry.stat.isFile());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The parsed records of fixtures/people.ndjson, in file order. */
export async function peopleRecords(): Promise<Record<string, unknown>[]> {
  const text = await readFile(fixture('people.ndjson'), 'utf8');
  return linesOf(text).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The same records as CSV without --infer-types would store them: every field a string, null as "". */
export function asCsvStrings(record: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

export function byId<T extends Record<string, unknown>>(records: T[]): T[] {
  return [...records].sort((a, b) => (String(a.id) < String(b.id) ? -1 : String(a.id) > String(b.id) ? 1 : 0));
}

/** stderr is one line (or nothing) and carries no stack trace. */
export function expectOneLineNoStack(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
}

/** A usage or store error: one line `bwrite: error: ...` on stderr, no stack trace. */
export function expectErrorLine(run: RunResult): void {
  expect(run.stderr).toMatch(/^bwrite: error: \S/);
  expectOneLineNoStack(run.stderr);
}

/** What `bwrite copy --json` prints. */
export interface CopySummary {
  status: string;
  resumed: boolean;
  read: number;
  copied: number;
  skipped: number;
  failed: number;
  bytes: number;
  verified: number | null;
  mismatched: number | null;
  extra: number | null;
  problems: { key: string; problem: string; message: string }[];
}
