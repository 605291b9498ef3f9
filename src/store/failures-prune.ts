import fs from 'node:fs';
import path from 'node:path';
import type { Store } from './store.js';

export interface RemovedFailuresFile {
  file: string;
  bytes: number;
  /** When it was last written, ISO 8601. */
  modifiedAt: string;
}

export interface FailuresPrune {
  removed: RemovedFailuresFile[];
  freedBytes: number;
  /** Files old enough that were kept: a run still holding its lease may append to them, or the index still has entries for them. */
  spared: number;
}

/**
 * Removes the failures files in the store's `failures/` directory last modified more than
 * `olderThanMs` ago, never one a run may still append to: a run that holds an unexpired lease,
 * or one whose committed failure entries the index still keeps for its file (rule 5 in store.ts).
 * Only plain files named `*.ndjson` there are removed: a `--failures` path elsewhere is the user's.
 */
export function pruneFailureFiles(store: Store, olderThanMs: number, options: { dryRun?: boolean } = {}): FailuresPrune {
  const result: FailuresPrune = { removed: [], freedBytes: 0, spared: 0 };
  const cutoff = Date.now() - olderThanMs;
  const inUse = filesInUse(store);
  for (const name of listDir(store.layout.failures)) {
    if (!name.endsWith('.ndjson')) continue;
    const file = path.join(store.layout.failures, name);
    const stat = lstatOf(file);
    if (!stat?.isFile() || stat.mtimeMs >= cutoff) continue;
    if (inUse.has(file)) {
      result.spared++;
      continue;
    }
    if (!options.dryRun) fs.rmSync(file, { force: true });
    result.removed.push({ file, bytes: stat.size, modifiedAt: new Date(stat.mtimeMs).toISOString() });
    result.freedBytes += stat.size;
  }
  return result;
}

/** The failures files of runs alive now, and of runs whose entries are not all in their file yet. */
function filesInUse(store: Store): Set<string> {
  const rows = store.runs.withFailuresPending();
  const files = new Set<string>();
  for (const { runId, failuresFile } of rows) {
    files.add(path.join(store.layout.failures, `${runId}.ndjson`));
    if (failuresFile) files.add(path.resolve(failuresFile));
  }
  return files;
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function lstatOf(file: string): fs.Stats | null {
  try {
    return fs.lstatSync(file);
  } catch {
    return null;
  }
}
