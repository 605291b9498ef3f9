// Experiment (issue 16): does `bwrite delete` of a million items stay in bounded memory, and what
// does it cost? Builds once, under bench/.data/delete/, a store of N items (keys `tmp:0000000`…,
// ~80 B values, inline) and the list of its keys; then, on a fresh copy of that store each time,
// runs `delete --prefix tmp:`, `delete --from KEYS`, the same with the heap capped (to tell what
// the process holds from what V8 has not collected yet) and `--dry-run`, and prints wall time,
// CPU time and peak RSS (GNU time). `stats` and `verify` must agree afterwards.
//
// usage: node bench/experiments/delete-at-scale.mjs [--items N] [--rounds R]   (default 1000000, 1)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measure } from '../measure.mjs';
import { BWRITE, ROOT } from '../tools.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => (i % 2 === 0 ? [...pairs, [arg.replace(/^--/, ''), all[i + 1]]] : pairs), []));
const items = Number(args.items ?? 1_000_000);
const rounds = Number(args.rounds ?? 1);
const dataDir = path.join(ROOT, 'bench', '.data', 'delete');
const built = path.join(dataDir, `store-${items}`);
const keys = path.join(dataDir, `keys-${items}.txt`);
const work = path.join(dataDir, 'work');

if (!fs.existsSync(path.join(built, 'index.db'))) build();
const cases = [
  ['--prefix', ['delete', '--prefix', 'tmp:']],
  ['--from', ['delete', '--from', keys]],
  ['--from, heap ≤ 24 MB', ['delete', '--from', keys], ['--max-old-space-size=24']],
  ['--prefix --dry-run', ['delete', '--prefix', 'tmp:', '--dry-run']],
];
console.log('| command | items | wall | CPU | peak RSS |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (let round = 0; round < rounds; round++) {
  for (const [label, command, nodeFlags = []] of cases) {
    fs.rmSync(work, { recursive: true, force: true });
    fs.cpSync(built, work, { recursive: true });
    const run = await measure(process.execPath, [...nodeFlags, BWRITE, ...command, '--store', work, '--json']);
    const summary = JSON.parse(run.stdout);
    if (summary.deleted !== items) throw new Error(`${label}: deleted ${summary.deleted}, not ${items}`);
    if (!command.includes('--dry-run')) check();
    console.log(`| ${label} | ${items.toLocaleString('en')} | ${(run.wallMs / 1000).toFixed(2)} s | ${(run.cpuMs / 1000).toFixed(2)} s | ${run.rssMb.toFixed(0)} MB |`);
  }
}
fs.rmSync(work, { recursive: true, force: true });
console.log(`\n${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end`);

function build() {
  fs.mkdirSync(dataDir, { recursive: true });
  const input = path.join(dataDir, `${items}.ndjson`);
  const lines = [];
  const keyLines = [];
  for (let i = 0; i < items; i++) {
    const key = `tmp:${String(i).padStart(7, '0')}`;
    lines.push(`{"id":"${key}","v":${i},"pad":"${'x'.repeat(40)}"}\n`);
    keyLines.push(`${key}\n`);
  }
  fs.writeFileSync(input, lines.join(''));
  fs.writeFileSync(keys, keyLines.join(''));
  const done = spawnSync(BWRITE, ['import', input, '--store', `${built}.part`, '-q'], { stdio: 'inherit' });
  if (done.status !== 0) throw new Error('building the store failed');
  fs.renameSync(`${built}.part`, built);
}

/** After a delete of every item: stats says 0 items, and verify agrees with the running totals. */
function check() {
  const stats = JSON.parse(spawnSync(BWRITE, ['stats', '--store', work, '--json'], { encoding: 'utf8' }).stdout);
  const verify = spawnSync(BWRITE, ['verify', '--store', work], { encoding: 'utf8' });
  if (stats.items !== 0 || stats.bytes !== 0 || verify.status !== 0) throw new Error(`after delete: ${stats.items} items, verify: ${verify.stdout}`);
}
