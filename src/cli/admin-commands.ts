import { completeFailureFiles } from '../pipeline/failure-recovery.js';
import { pruneFailureFiles, type FailuresPrune } from '../store/failures-prune.js';
import { collectGarbage } from '../store/gc.js';
import { openStore, readStore } from '../store/store.js';
import { verifyStore } from '../store/verify.js';
import { countOf, formatBytes, formatCount } from './format.js';
import type { Output } from './output.js';

/** `bwrite verify`: exit 0 when every index row's value is intact, 1 otherwise. */
export async function verifyCommand(options: { store: string; blobs?: string; deep?: boolean; json?: boolean }, output: Output): Promise<number> {
  const report = await readStore(options.store, (store) => verifyStore(store, { deep: options.deep }), options);
  if (options.json) output.data(JSON.stringify(report));
  else {
    for (const problem of report.problems) output.data(`problem: ${problem.message}`);
    if (report.moreProblems > 0) output.data(`problem: … and ${formatCount(report.moreProblems)} more`);
    const what = `${countOf(report.items, 'item')} checked${report.deep ? ' (deep)' : ''}, ${countOf(report.blobs, 'blob file')}, ${formatCount(report.orphanBlobs)} unreferenced (${formatBytes(report.orphanBytes)}), ${countOf(report.tempFiles, 'temporary file')}`;
    output.data(report.ok ? `ok: ${what}` : `${countOf(report.problems.length + report.moreProblems, 'problem')}: ${what}`);
    if (report.orphanBlobs + report.tempFiles > 0) output.error(`'bwrite gc' removes the unreferenced blobs and temporary files`, { prefix: 'bwrite: ' });
  }
  return report.ok ? 0 : 1;
}

export interface GcOptions {
  store: string;
  blobs?: string;
  dryRun?: boolean;
  json?: boolean;
  /** `--failures-older-than`, in ms. */
  failuresOlderThan?: number;
}

/**
 * `bwrite gc`: remove unreferenced blobs and leftover temporary files, and with
 * `--failures-older-than`, old failures files; the first line says it all, for a cron log.
 */
export async function gcCommand(options: GcOptions, output: Output): Promise<number> {
  const store = await openStore(options.store, { create: false, blobs: options.blobs });
  try {
    if (!options.dryRun) completeFailureFiles(store);
    const report = await collectGarbage(store, { dryRun: options.dryRun });
    const failures = options.failuresOlderThan === undefined ? null : pruneFailureFiles(store, options.failuresOlderThan, { dryRun: options.dryRun });
    if (options.json) output.data(JSON.stringify({ ...report, failures }));
    else {
      const verb = report.dryRun ? 'would remove' : 'removed';
      const spared = report.sparedBlobs > 0 ? `; spared ${countOf(report.sparedBlobs, 'recent blob')} an import running now may use` : '';
      output.data(`${verb} ${countOf(report.removedBlobs, 'blob')} and ${countOf(report.removedTempFiles, 'temporary file')}, ${formatBytes(report.freedBytes)}${spared}${failures ? failuresPart(verb, failures) : ''}`);
      if (report.restoredBlobs > 0) output.data(`put back ${countOf(report.restoredBlobs, 'blob')} an interrupted gc had left in tmp/`);
      if (report.recountedTotals) output.data('counted the items again: the totals stats shows had drifted from the index');
    }
    return 0;
  } finally {
    await store.close();
  }
}

function failuresPart(verb: string, failures: FailuresPrune): string {
  const kept = failures.spared > 0 ? ` (kept ${countOf(failures.spared, 'file')} of runs still running)` : '';
  return `; ${verb} ${countOf(failures.removed.length, 'old failures file')}, ${formatBytes(failures.freedBytes)}${kept}`;
}
