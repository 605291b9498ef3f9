// Experiment (issue 15): how long `bwrite stats` takes right after an import of one record, in each
// output format, as a monitoring scrape after every cron import would run it. `--version` is timed
// in the same rounds, as the floor a process pays to start, and stats once more in one process.
// The store is written to (one record per round): pass a copy. With --scan, also times the count
// of distinct values (the query `stats --recount` runs), which sets the size up to which `stats`
// counts them itself (COUNT_ON_READ_MAX_ITEMS).
// usage: node stats-after-import.mjs BWRITE_BIN STORE [ROUNDS] [--scan]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

const args = process.argv.slice(2);
const scan = args.includes('--scan');
const [bin, store, roundsText = '5'] = args.filter((arg) => arg !== '--scan');
if (!bin || !store || !(Number.isInteger(Number(roundsText)) && Number(roundsText) >= 1)) {
  console.error('usage: node stats-after-import.mjs BWRITE_BIN STORE [ROUNDS] [--scan]');
  process.exit(2);
}
const rounds = Number(roundsText);
const one = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'stats-after-import-')), 'one.ndjson');

const timed = (argv) => {
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, [bin, ...argv], { stdio: ['ignore', 'ignore', 'inherit'] });
  return Number(process.hrtime.bigint() - start) / 1e6;
};
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const formats = { version: null, human: [], json: ['--json'], prometheus: ['--prometheus'] };
const times = Object.fromEntries(Object.keys(formats).map((name) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, extra] of Object.entries(formats)) {
    if (extra === null) {
      times[name].push(timed(['--version']));
      continue;
    }
    fs.writeFileSync(one, `${JSON.stringify({ id: `stats-after-import-${process.pid}-${round}-${name}`, v: round })}\n`);
    execFileSync(process.execPath, [bin, 'import', '--store', store, '-q', one], { stdio: 'inherit' });
    times[name].push(timed(['stats', '--store', store, ...extra]));
  }
}
for (const [name, values] of Object.entries(times)) {
  console.log(`${name.padEnd(10)} median ${median(values).toFixed(0)} ms  (${values.map((v) => v.toFixed(0)).join(' ')})`);
}
console.log(`load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);

// The same in one process: what `stats` costs beyond starting Node and loading bwrite.
const dist = path.join(path.dirname(fs.realpathSync(bin)), '..', 'dist', 'store');
const { readStore } = await import(path.join(dist, 'store.js'));
const { storeStats } = await import(path.join(dist, 'store-stats.js'));
const inProcess = [];
for (let round = 0; round < rounds; round++) {
  const start = performance.now();
  await readStore(store, (opened) => storeStats(opened));
  inProcess.push(performance.now() - start);
}
console.log(`in process: open, stats, close median ${median(inProcess).toFixed(1)} ms`);

if (scan) {
  const db = new Database(path.join(store, 'index.db'), { readonly: true });
  const items = db.prepare('SELECT count(*) FROM items').pluck().get();
  const count = db.prepare(`SELECT coalesce(sum(in_blob), 0), coalesce(sum(size), 0)
    FROM (SELECT max(size) AS size, min(inline IS NOT NULL) = 0 AS in_blob FROM items GROUP BY sha256)`);
  const scans = Array.from({ length: rounds }, () => {
    const start = performance.now();
    count.get();
    return performance.now() - start;
  });
  console.log(`count of distinct values over ${items} items: median ${median(scans).toFixed(1)} ms, ${((median(scans) * 1000) / items).toFixed(2)} µs an item`);
  db.close();
}
