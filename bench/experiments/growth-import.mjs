// Times `bin/bwrite import` of NDJSON files into copies of given stores (or an empty one): wall
// time, peak RSS, CPU time (user + system, every thread) and bytes written (GNU time's %O) of the
// process, median of N runs, each into a fresh copy.
//   node bench/experiments/growth-import.mjs [--runs N] [--label L] [--bin PATH] [--in-place] FILE BASE... [-- BWRITE OPTIONS]
// BASE is a store directory to copy, or `empty`. --bin: another build's bin/bwrite. --in-place:
// import into BASE itself (no copy: a 4 GB store), so give FILE as a comma-separated list of files
// with distinct new keys, one per run. Prints one line per base.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const bin = new URL('../../bin/bwrite', import.meta.url).pathname;
const args = process.argv.slice(2);
const dash = args.indexOf('--');
const extra = dash >= 0 ? args.splice(dash).slice(1) : [];
let runs = 3;
let label = '';
let bwrite = bin;
let inPlace = false;
for (;;) {
  if (args[0] === '--runs') runs = Number(args.splice(0, 2)[1]);
  else if (args[0] === '--label') label = args.splice(0, 2)[1];
  else if (args[0] === '--bin') bwrite = args.splice(0, 2)[1];
  else if (args[0] === '--in-place') inPlace = Boolean(args.splice(0, 1));
  else break;
}
const [fileList, ...bases] = args;
const files = fileList.split(',');
const lines = Number(execFileSync('wc', ['-l', files[0]]).toString().trim().split(' ')[0]);
const work = fs.mkdtempSync(path.join(process.env.GROWTH_TMP ?? os.tmpdir(), 'growth-'));

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

for (const base of bases) {
  const times = [];
  const rss = [];
  const cpu = [];
  const written = [];
  for (let run = 0; run < runs; run++) {
    const store = inPlace ? base : path.join(work, 'store');
    if (!inPlace) {
      fs.rmSync(store, { recursive: true, force: true });
      if (base !== 'empty') execFileSync('cp', ['-r', base, store]);
    }
    execFileSync('sync');
    const file = files[run % files.length];
    const out = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S %O', process.execPath, bwrite, 'import', '--store', store, '-q', ...extra, file], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`import failed (${out.status}): ${out.stderr}`);
    const [seconds, kb, user, sys, blocks] = out.stderr.trim().split('\n').at(-1).split(' ').map(Number);
    written.push((blocks * 512) / 1e6);
    times.push(seconds);
    cpu.push(user + sys);
    rss.push(kb / 1024);
  }
  const t = median(times);
  console.log(`${label}\t${path.basename(base)}\t${t.toFixed(2)} s\t${Math.round(lines / t)} items/s\t${Math.round(median(rss))} MB\tcpu ${median(cpu).toFixed(2)} s\twrites ${Math.round(median(written))} MB\t[${times.join(' ')}]`);
}
fs.rmSync(work, { recursive: true, force: true });
