// Memory must not grow with the input: bwrite (default options) on a much larger file, once,
// its peak RSS set against the main table's run on the 1 KB set. Nor with what fails: the same
// input where every record fails, against the same where every one is stored.
import { bwrite, failingConfigs } from './configs.mjs';
import path from 'node:path';
import { runOnce, runRounds } from './rounds.mjs';

export async function runBigInput(dataset, base, outDir) {
  process.stderr.write(`  bwrite on ${dataset.items.toLocaleString('en')} records (peak RSS)…\n`);
  const sample = await runOnce(bwrite('bwrite big', dataset), path.join(outDir, 'big'));
  return {
    items: dataset.items,
    wallMs: sample.wallMs,
    itemsPerSecond: dataset.items / (sample.wallMs / 1000),
    peakRssMb: sample.rssMb,
    baseItems: base.items,
    baseRssMb: base.peakRssMb,
  };
}

/** bwrite --format json on one large array, once: its peak RSS (issue 16). */
export async function runBigJson(dataset, outDir) {
  process.stderr.write(`  bwrite --format json on a ${dataset.items.toLocaleString('en')}-element array (peak RSS)…\n`);
  const sample = await runOnce(bwrite('bwrite big json', dataset, ['--format', 'json']), path.join(outDir, 'big-json'));
  return { items: dataset.items, wallMs: sample.wallMs, itemsPerSecond: dataset.items / (sample.wallMs / 1000), peakRssMb: sample.rssMb };
}

/** The all-stored and all-failing rows, in interleaved rounds; `only`: the names to run, or null for both. */
export async function runFailingInput(dataset, { rounds, only }, outDir) {
  const configs = failingConfigs(dataset).filter((config) => !only || only.includes(config.name));
  return runRounds(configs, { rounds, outDir, label: 'failing' });
}
