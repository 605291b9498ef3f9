// How long `bwrite --version` and `bwrite stats` take on a store of many items, start to exit:
// hyperfine when it is installed, otherwise our own loop (10 runs after 2 warm-ups, median).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { measure } from './measure.mjs';
import { median } from './rounds.mjs';
import { bwriteCommand, which } from './tools.mjs';

const RUNS = 10;
const WARMUP = 2;

export async function runStartup(dataset, outDir) {
  const store = path.join(outDir, `store-${dataset.items}`);
  fs.rmSync(store, { recursive: true, force: true });
  process.stderr.write(`  building a store of ${dataset.items.toLocaleString('en')} items for startup timings…\n`);
  const build = bwriteCommand('import', dataset.file, '--store', store, '--json', '-q');
  const built = JSON.parse((await measure(build.cmd, build.args)).stdout);
  if (built.written !== dataset.items) throw new Error(`startup store: expected ${dataset.items} items, got ${built.written}`);

  // The first stats after an import counts the distinct values (a scan); later ones reuse the count.
  const first = bwriteCommand('stats', '--store', store, '--json');
  const firstRun = await measure(first.cmd, first.args);
  const timings = [{ name: `bwrite stats, first after the import (${dataset.items.toLocaleString('en')} items)`, tool: 'one run', medianMs: firstRun.wallMs, meanMs: firstRun.wallMs, maxMs: firstRun.wallMs }];

  const commands = [
    { name: 'bwrite --version', ...bwriteCommand('--version') },
    { name: `bwrite stats (${dataset.items.toLocaleString('en')} items)`, ...bwriteCommand('stats', '--store', store) },
    { name: `bwrite stats --json (${dataset.items.toLocaleString('en')} items)`, ...bwriteCommand('stats', '--store', store, '--json') },
  ];
  const hyperfine = which('hyperfine');
  for (const command of commands) {
    timings.push({ name: command.name, tool: hyperfine ? 'hyperfine' : 'loop', ...(hyperfine ? await viaHyperfine(hyperfine, command, outDir) : await viaLoop(command)) });
  }
  return timings;
}

async function viaHyperfine(bin, command, outDir) {
  const exported = path.join(outDir, 'hyperfine.json');
  const line = [command.cmd, ...command.args].map(shellQuote).join(' ');
  execFileSync(bin, ['--warmup', String(WARMUP), '--runs', String(RUNS), '-N', '--style', 'none', '--export-json', exported, line], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [result] = JSON.parse(fs.readFileSync(exported, 'utf8')).results;
  fs.rmSync(exported, { force: true });
  return { medianMs: result.median * 1000, meanMs: result.mean * 1000, maxMs: result.max * 1000 };
}

async function viaLoop(command) {
  const times = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const { wallMs } = await measure(command.cmd, command.args);
    if (i >= WARMUP) times.push(wallMs);
  }
  return { medianMs: median(times), meanMs: times.reduce((a, b) => a + b, 0) / times.length, maxMs: Math.max(...times) };
}

function shellQuote(word) {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
