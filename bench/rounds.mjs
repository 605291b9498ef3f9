// Interleaved rounds: every configuration runs once per round, in an order that rotates each
// round, each in a fresh store directory, so that drift of the machine (page cache, writeback,
// a noisy neighbour) spreads over all of them instead of landing on one. Medians are reported.
//
// Stores are not deleted between runs: on ext4 without a journal (this machine's), inodes freed
// in the last ~30 s are skipped one by one when a file is created (recently_deleted() in the
// kernel), which made the run after an `rm -rf` of 100k files up to 5 × slower. The caller
// removes a phase's stores with removeStores(); runRounds() lets that window pass first.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measure } from './measure.mjs';

/** One summary per configuration: medians over the rounds, the worst peak RSS. */
export async function runRounds(configs, { rounds, outDir, label = 'run' }) {
  const samples = new Map(configs.map((config) => [config.name, []]));
  const total = rounds * configs.length;
  let done = 0;
  await settleAfterRemoval();
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < configs.length; i++) {
      const config = configs[(i + round) % configs.length];
      const sample = await runOnce(config, path.join(outDir, slug(config.name), `round-${round + 1}`));
      samples.get(config.name).push(sample);
      done++;
      process.stderr.write(`  [${label} ${done}/${total}] round ${round + 1} ${config.name}: ${Math.round(sample.wallMs)} ms, ${sample.rssMb?.toFixed(0) ?? '?'} MB\n`);
    }
  }
  return configs.map((config) => summarise(config, samples.get(config.name)));
}

/** One run of one configuration in a fresh store; writeback of earlier runs is flushed first. */
export async function runOnce(config, store) {
  if (fs.existsSync(store)) throw new Error(`${store} exists: stores are fresh directories (removeStores() first)`);
  fs.mkdirSync(store, { recursive: true });
  execFileSync('sync');
  const { cmd, args, env, exitCode, cwd } = config.command(store);
  // The 1-minute load average as the run starts: above the core count, something else was running.
  const load = os.loadavg()[0];
  const run = await measure(cmd, args, { ...(env ? { env: { ...process.env, ...env } } : {}), exitCode, cwd });
  const extra = config.check ? await config.check(run, store) : {};
  return { wallMs: run.wallMs, rssMb: run.rssMb, cpuMs: run.cpuMs, load, ...extra };
}

const RECENTLY_DELETED_MS = 35_000;
let lastRemoval = 0;

/**
 * Removes a directory of stores (rm -rf: much faster than fs.rm on 100k files). `fewFiles`: the
 * stores held only a database or two, so file creation afterwards is not slowed.
 */
export function removeStores(dir, { fewFiles = false } = {}) {
  if (!fs.existsSync(dir)) return;
  execFileSync('rm', ['-rf', dir]);
  execFileSync('sync');
  if (!fewFiles) lastRemoval = Date.now();
}

/**
 * At the very end: the stores are renamed aside and removed by a detached `rm -rf`, so that the
 * bench does not wait for it; removeStores() of the next run's start collects what remains.
 */
export function removeStoresInBackground(dir) {
  if (!fs.existsSync(dir)) return;
  const trash = `${dir}.trash-${process.pid}`;
  fs.renameSync(dir, trash);
  spawn('rm', ['-rf', trash], { detached: true, stdio: 'ignore' }).unref();
}

/** Removes `dir` and whatever removeStoresInBackground() left beside it. */
export function removeLeftovers(dir) {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  if (!fs.existsSync(parent)) return;
  for (const name of fs.readdirSync(parent)) if (name === base || name.startsWith(`${base}.trash-`)) removeStores(path.join(parent, name));
}

async function settleAfterRemoval() {
  const wait = lastRemoval + RECENTLY_DELETED_MS - Date.now();
  if (wait <= 0) return;
  process.stderr.write(`  waiting ${Math.ceil(wait / 1000)} s: inodes freed by removing stores slow file creation meanwhile…\n`);
  await new Promise((resolve) => setTimeout(resolve, wait));
}

export function summarise(config, samples) {
  const wallMs = median(samples.map((s) => s.wallMs));
  const seconds = wallMs / 1000;
  const summary = {
    name: config.name,
    group: config.group,
    dataset: config.dataset.name,
    items: config.dataset.items,
    wallMs,
    cpuMs: median(samples.map((s) => s.cpuMs)),
    itemsPerSecond: config.dataset.items / seconds,
    mbPerSecond: config.dataset.valueBytes / (1024 * 1024) / seconds,
    peakRssMb: max(samples.map((s) => s.rssMb)),
    rounds: samples.length,
    spread: spread(samples.map((s) => s.wallMs)),
    load: median(samples.map((s) => s.load)),
  };
  if (samples[0].ownItemsPerSecond !== undefined) {
    summary.ownItemsPerSecond = median(samples.map((s) => s.ownItemsPerSecond));
    summary.p95Ms = median(samples.map((s) => s.p95Ms));
  }
  return summary;
}

export function median(values) {
  const sorted = values.filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function max(values) {
  const known = values.filter((v) => v !== null && v !== undefined);
  return known.length ? Math.max(...known) : null;
}

// (slowest - fastest) / median: how much one number in the table can be trusted.
function spread(values) {
  if (values.length < 2) return 0;
  return (Math.max(...values) - Math.min(...values)) / median(values);
}

export function slug(name) {
  return name.replace(/[^a-zA-Z0-9.]+/g, '-').replace(/^-|-$/g, '');
}
