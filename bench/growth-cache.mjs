// The growth bench's cached data in bench/.data/growth/: stores built once by piping the sorted
// generator into `bwrite import -`, and the NDJSON inputs the measurements import. Never written
// after they are built: the measurements work on copies.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { drawnKeys, writeRecords, writeSorted } from './growth-data.mjs';
import { BENCH_DIR, bwriteCommand, NODE } from './tools.mjs';

// Bump when the generator's output changes: cached stores and inputs are then built again.
const GENERATOR_VERSION = 1;
const GENERATOR = path.join(BENCH_DIR, 'growth-data.mjs');

const log = (text) => process.stderr.write(`  ${text}\n`);
const count = (n) => n.toLocaleString('en');

/** The cached store of `items` items, built when missing or made by another generator version. */
export async function ensureStore(dataDir, items, commit) {
  const dir = path.join(dataDir, `store-${items}`);
  const metaFile = `${dir}.meta.json`;
  if (fs.existsSync(metaFile) && fs.existsSync(dir)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    if (meta.generator === GENERATOR_VERSION && meta.items === items) return { ...meta, dir, reused: true };
  }
  const building = `${dir}.building`;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(building, { recursive: true, force: true });
  log(`building a store of ${count(items)} items (random UUID keys in sorted order, 200 B values)…`);
  const start = performance.now();
  const summary = await pipeImport(['node', GENERATOR, String(items), 'store'], building);
  const buildMs = performance.now() - start;
  if (summary.written !== items) throw new Error(`growth store: expected ${items} items, got ${summary.written}`);
  fs.renameSync(building, dir);
  const meta = { generator: GENERATOR_VERSION, items, buildMs, builtAt: new Date().toISOString(), commit };
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  log(`built in ${(buildMs / 1000).toFixed(1)} s`);
  return { ...meta, dir, reused: false };
}

// The generator's sorted NDJSON straight into `bwrite import -`: no multi-GB file on disk.
async function pipeImport(generator, store) {
  const gen = spawn(NODE, generator.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const { cmd, args } = bwriteCommand('import', '-', '--store', store, '--json', '-q');
  const importer = spawn(cmd, args, { stdio: [gen.stdout, 'pipe', 'inherit'] });
  const out = [];
  importer.stdout.on('data', (chunk) => out.push(chunk));
  const [[genCode], [importCode]] = await Promise.all([once(gen, 'exit'), once(importer, 'close')]); // gen's stdout belongs to the importer: no 'close'
  if (genCode !== 0 || importCode !== 0) throw new Error(`building ${store}: generator exited ${genCode}, bwrite import ${importCode}`);
  return JSON.parse(Buffer.concat(out).toString('utf8'));
}

/** The NDJSON inputs, each written once: `{ file, items }` by name. */
export async function ensureInputs(dataDir, sizes) {
  const dir = path.join(dataDir, 'inputs');
  fs.mkdirSync(dir, { recursive: true });
  const make = async (name, items, keys, version = 1) => {
    const file = path.join(dir, `${name}-${items}.v${GENERATOR_VERSION}.ndjson`);
    if (!fs.existsSync(file)) {
      log(`generating ${path.basename(file)}…`);
      const tmp = `${file}.tmp`;
      const out = fs.createWriteStream(tmp);
      await keys(out);
      out.end();
      await once(out, 'finish');
      fs.renameSync(tmp, file);
    }
    return { file, items, bytes: fs.statSync(file).size };
  };
  const drawn = (seed, items, version = 1) => (out) => writeRecords(out, drawnKeys(items, seed), items, version);
  return {
    // New keys in the order they were drawn: random positions in the index, as a cron import has.
    fresh: await make('new', sizes.batch, drawn('new', sizes.batch)),
    // The first keys drawn for the stores (so present in both), with new values, in random order.
    replace: await make('replace', sizes.batch, drawn('store', sizes.batch, 2)),
    log: await make('log', sizes.logRecords, (out) => writeSorted(out, sizes.logRecords, 'log')),
    // One pair per sample: what is appended to the log, and as much again to import alone.
    appends: await sequence(sizes.resumeSamples, (k) => make(`append${k}`, sizes.appendRecords, drawn(`append${k}`, sizes.appendRecords))),
    alones: await sequence(sizes.resumeSamples, (k) => make(`alone${k}`, sizes.appendRecords, drawn(`alone${k}`, sizes.appendRecords))),
  };
}

async function sequence(n, fn) {
  const out = [];
  for (let k = 0; k < n; k++) out.push(await fn(k));
  return out;
}
