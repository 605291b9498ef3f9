// The configurations of the main table: what each runs, on which dataset, and how its output is
// checked (a run that stored the wrong number of items must not produce a number).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BENCH_DIR, NODE, bwriteCommand } from './tools.mjs';

const TARGET_ROWS = new Set(['floor-blob', 'floor-inline', 'sqlite-utils', 'cacache', 'naive', 'bwrite --inline-max 0', 'bwrite', 'bwrite json', 'bwrite 1m', 'cp 1m files']);
const script = (...parts) => path.join(BENCH_DIR, ...parts);

/**
 * `tools`: `{ sqliteUtils: path | null }`; `targetsOnly`: only the rows issue 4's ratios need.
 * Returns the list and notes about what was left out.
 */
export function mainConfigs(sets, tools, { targetsOnly = false } = {}) {
  const notes = [];
  const all = [
    floorBlob('floor-blob', sets.records),
    floorInline('floor-inline', sets.records),
    ...(tools.sqliteUtils ? [sqliteUtils('sqlite-utils', sets.records, tools.sqliteUtils, ['--nl'])] : []),
    nodePeer('cacache', sets.records, script('peers', 'cacache.mjs'), ['10']),
    nodePeer('naive', sets.records, script('peers', 'naive.mjs'), []),
    bwrite('bwrite --inline-max 0', sets.records, ['--inline-max', '0']),
    bwrite('bwrite', sets.records),
    bwrite('bwrite --durable', sets.records, ['--durable']),
    bwrite('bwrite --inline-max 0 --durable', sets.records, ['--inline-max', '0', '--durable']),
    bwrite('bwrite json', sets.json, ['--format', 'json']),
    bwrite('bwrite csv', sets.csv),
    ...(tools.sqliteUtils ? [sqliteUtils('sqlite-utils csv', sets.csv, tools.sqliteUtils, ['--csv'])] : []),
    floorBlob('floor-blob dups', sets.dups),
    bwrite('bwrite dups --inline-max 0', sets.dups, ['--inline-max', '0']),
    bwrite('bwrite dups', sets.dups),
    floorBlob('floor-blob 64k', sets.values64k),
    bwrite('bwrite 64k', sets.values64k),
    bwrite('bwrite 64k --inline-max 65536', sets.values64k, ['--inline-max', '65536']),
    floorBlob('floor-blob 1m', sets.values1m),
    bwrite('bwrite 1m', sets.values1m),
    cpFiles('cp 1m files', sets.values1m),
    cpFile('cp 1m file', sets.values1m),
  ];
  const configs = targetsOnly ? all.filter((config) => TARGET_ROWS.has(config.name)) : all;
  notes.push(`cp reference: "cp 1m files" copies the ${sets.values1m.items} values as one file each (as many files as bwrite writes blobs) with \`cp --reflink=never -r\`; "cp 1m file" copies the NDJSON input once. The target uses "cp 1m files".`);
  if (targetsOnly) {
    notes.push(
      'Quick mode: only the rows the targets need, on small sets, where process start-up (0.1–0.3 s) is a large part of each run: a smoke test of the bench. The targets are judged on a full run.',
    );
  }
  if (!tools.sqliteUtils) notes.push('sqlite-utils is not installed (apt-get install sqlite-utils): its rows and ratio are skipped.');
  return { configs, notes };
}

export function bwrite(name, dataset, extra = [], group = 'bwrite', env = null) {
  return {
    name,
    group,
    dataset,
    command: (store) => ({ ...bwriteCommand('import', dataset.file, '--store', store, '--json', '-q', ...dataset.keyArgs, ...extra), env }),
    check: (run) => {
      const summary = JSON.parse(run.stdout);
      if (summary.status !== 'ok' || summary.read !== dataset.items || summary.failed !== 0) {
        throw new Error(`${name}: expected ${dataset.items} records stored, got ${run.stdout.trim()}`);
      }
      return { ownItemsPerSecond: summary.itemsPerSecond, p95Ms: summary.latencyMs?.p95 ?? null };
    },
  };
}

export const ALL_STORED = 'bwrite all stored';
export const ALL_FAILING = 'bwrite all failing';

/**
 * The same lines twice: keyed by their `id` (every one stored), and by a field none of them has
 * (every one fails E_KEY_MISSING, as with a wrong --key): memory must not depend on which.
 */
export function failingConfigs(dataset) {
  return [bwrite(ALL_STORED, dataset), allFailing(ALL_FAILING, dataset)];
}

function allFailing(name, dataset) {
  return {
    name,
    group: 'bwrite',
    dataset,
    command: (store) => ({ ...bwriteCommand('import', dataset.file, '--store', store, '--json', '-q', '--key', 'absent'), exitCode: 1 }),
    check: (run) => {
      const summary = JSON.parse(run.stdout);
      if (summary.status !== 'partial' || summary.read !== dataset.items || summary.failed !== dataset.items) {
        throw new Error(`${name}: expected ${dataset.items} records failed, got ${run.stdout.trim()}`);
      }
      return { ownItemsPerSecond: summary.itemsPerSecond, p95Ms: summary.latencyMs?.p95 ?? null };
    },
  };
}

function floorBlob(name, dataset) {
  return nodePeer(name, dataset, script('floors', 'blob.mjs'), ['10', '500'], 'floor');
}

function floorInline(name, dataset) {
  return nodePeer(name, dataset, script('floors', 'inline.mjs'), ['500'], 'floor');
}

// A script of ours that prints `{ items, bytes }` at the end.
function nodePeer(name, dataset, file, extra, group = 'peer') {
  return {
    name,
    group,
    dataset,
    command: (store) => ({ cmd: NODE, args: [file, dataset.file, store, ...extra] }),
    check: (run) => expectCount(name, JSON.parse(run.stdout).items, dataset.items),
  };
}

function sqliteUtils(name, dataset, bin, formatArgs) {
  return {
    name,
    group: 'peer',
    dataset,
    command: (store) => ({ cmd: bin, args: ['insert', path.join(store, 'db.sqlite'), 'items', dataset.file, ...formatArgs, '--pk', 'id'] }),
    check: (run, store) => {
      const db = new Database(path.join(store, 'db.sqlite'), { readonly: true });
      const count = db.prepare('SELECT count(*) FROM items').pluck().get();
      db.close();
      return expectCount(name, count, dataset.items);
    },
  };
}

// The file system's reference for large values: the same values, one file each (as many files
// as bwrite writes blobs), copied with cp. No reflinks: the bytes are really copied.
function cpFiles(name, dataset) {
  return {
    name,
    group: 'reference',
    dataset,
    command: (store) => ({ cmd: 'cp', args: ['--reflink=never', '-r', dataset.filesDir, path.join(store, 'copy')] }),
    check: (run, store) => expectCount(name, fs.readdirSync(path.join(store, 'copy')).length, dataset.items),
  };
}

// For comparison only: one sequential copy of the whole input file (the same bytes, one file).
function cpFile(name, dataset) {
  return {
    name,
    group: 'reference',
    dataset,
    command: (store) => ({ cmd: 'cp', args: ['--reflink=never', dataset.file, path.join(store, 'copy')] }),
    check: (run, store) => expectCount(name, fs.statSync(path.join(store, 'copy')).size, dataset.fileBytes),
  };
}

function expectCount(name, got, expected) {
  if (got !== expected) throw new Error(`${name}: expected ${expected}, got ${got}`);
  return {};
}
