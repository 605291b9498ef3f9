// Experiment (issue 15): do `export`, `verify` and `gc` (nothing to collect) keep their memory flat
// and their speed as a store grows? Builds once, under bench/.data/scans/, stores of random-UUID
// keys (imported in key order) with ~200 B values: kept inline (the default --inline-max) and in
// blob files (--inline-max 0), then runs each command on each store with each bwrite given,
// interleaved, and prints items/s (items over the process's wall time) and peak RSS (GNU time).
//
// usage: node bench/experiments/streaming-scans.mjs [--inline N,N…] [--blob N,N…] [--rounds R]
//          [--bwrite LABEL=PATH]…   (default: --inline 1000000 --blob 200000 --rounds 3 --bwrite now=bin/bwrite)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = path.join(root, 'bench', '.data', 'scans');
const options = parseArgs(process.argv.slice(2));
const COMMANDS = [['export'], ['verify'], ['gc']];

fs.mkdirSync(dataDir, { recursive: true });
const stores = [...options.inline.map((n) => ensureStore(n, 'inline')), ...options.blob.map((n) => ensureStore(n, 'blob'))];
const results = new Map();
for (let round = 0; round < options.rounds; round++) {
  for (const store of stores) {
    for (const command of COMMANDS) {
      // The order of the builds turns each round, so that none always runs first.
      const builds = options.bwrite.map((_, i, all) => all[(i + round) % all.length]);
      for (const build of builds) {
        const run = await measure(build.path, [...command, '--store', store.dir]);
        const key = `${store.name}\t${command.join(' ')}\t${build.label}`;
        results.set(key, [...(results.get(key) ?? []), run]);
        console.error(`${key}\t${(run.wallMs / 1000).toFixed(1)} s\t${run.rssMb.toFixed(0)} MB`);
      }
    }
  }
}
console.log(`| store | command | bwrite | items | wall (median) | items/s | peak RSS (worst) |`);
console.log(`| --- | --- | --- | ---: | ---: | ---: | ---: |`);
for (const [key, runs] of results) {
  const [storeName, command, label] = key.split('\t');
  const store = stores.find((s) => s.name === storeName);
  const wallMs = median(runs.map((run) => run.wallMs));
  const rssMb = Math.max(...runs.map((run) => run.rssMb));
  const perSecond = Math.round(store.items / (wallMs / 1000));
  console.log(`| ${storeName} | ${command} | ${label} | ${store.items.toLocaleString('en')} | ${(wallMs / 1000).toFixed(1)} s | ${perSecond.toLocaleString('en')} | ${rssMb.toFixed(0)} MB |`);
}
console.log(`\n${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end, ${options.rounds} rounds`);

/** A store of `items` items, values inline or in blob files; built once. */
function ensureStore(items, kind) {
  const name = `${kind}-${items}`;
  const dir = path.join(dataDir, name);
  if (!fs.existsSync(path.join(dir, 'index.db'))) {
    const input = path.join(dataDir, `${items}.ndjson`);
    if (!fs.existsSync(input)) writeRecords(input, items);
    const extra = kind === 'blob' ? ['--inline-max', '0'] : [];
    const start = Date.now();
    const done = spawnSync(path.join(root, 'bin', 'bwrite'), ['import', input, '--store', `${dir}.part`, '-q', ...extra], { stdio: 'inherit' });
    if (done.status !== 0) throw new Error(`building ${name} failed`);
    fs.renameSync(`${dir}.part`, dir);
    console.error(`built ${name} in ${((Date.now() - start) / 1000).toFixed(0)} s`);
  }
  return { name, dir, items };
}

/**
 * `items` NDJSON records, keys in order: sorted random UUIDs are spread evenly over the key space,
 * so each key is its rank's share of that space plus a random part (seeded: the same every time).
 */
function writeRecords(file, items) {
  let state = 0x2545f491;
  const random32 = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const hex = (n, width) => n.toString(16).padStart(width, '0');
  const fd = fs.openSync(`${file}.part`, 'w');
  let chunk = [];
  for (let i = 0; i < items; i++) {
    const rank = Math.floor((i / items) * 2 ** 32) + Math.floor((random32() / 2 ** 32) * (2 ** 32 / items));
    const id = `${hex(rank, 8)}-${hex(random32() >>> 16, 4)}-4${hex(random32() >>> 20, 3)}-${hex(random32() >>> 16, 4)}-${hex(random32(), 8)}${hex(random32() >>> 16, 4)}`;
    let payload = '';
    while (payload.length < 120) payload += hex(random32(), 8);
    chunk.push(`{"id":"${id}","seq":${i},"payload":"${payload}","pad":"xxxxxxxxxxxxxxxxxxxx"}\n`);
    if (chunk.length === 10_000) {
      fs.writeSync(fd, chunk.join(''));
      chunk = [];
    }
  }
  fs.writeSync(fd, chunk.join(''));
  fs.closeSync(fd);
  fs.renameSync(`${file}.part`, file);
}

/** Wall time, peak RSS and exit code of one process; its standard output goes to /dev/null (export prints the store). */
async function measure(bin, args) {
  const timeFile = path.join(os.tmpdir(), `bwrite-scans-${process.pid}.time`);
  const devNull = fs.openSync('/dev/null', 'w');
  const start = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%M %x', '-o', timeFile, bin, ...args], { stdio: ['ignore', devNull, 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const wallMs = performance.now() - start;
  fs.closeSync(devNull);
  const [kb, code] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  if (code !== 0) throw new Error(`${bin} ${args.join(' ')} exited with ${code}: ${stderr.trim().slice(-500)}`);
  return { wallMs, rssMb: kb / 1024 };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function parseArgs(argv) {
  const parsed = { inline: [1_000_000], blob: [200_000], rounds: 3, bwrite: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--inline' || flag === '--blob') parsed[flag.slice(2)] = value === '' ? [] : value.split(',').map(Number);
    else if (flag === '--rounds') parsed.rounds = Number(value);
    else if (flag === '--bwrite') {
      const [label, bin] = value.split('=');
      parsed.bwrite.push({ label, path: path.resolve(bin) });
    } else {
      console.error(`usage: node bench/experiments/streaming-scans.mjs [--inline N,N…] [--blob N,N…] [--rounds R] [--bwrite LABEL=PATH]…`);
      process.exit(2);
    }
  }
  if (parsed.bwrite.length === 0) parsed.bwrite.push({ label: 'now', path: path.join(root, 'bin', 'bwrite') });
  return parsed;
}
