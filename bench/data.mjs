// Generates the inputs into bench/.data/ once; a later run reuses a file whose sidecar says it is
// complete. Files are written streaming (the 2M-record ones are 2 GB) and renamed when finished.
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { CSV_HEADER, csvRow, duplicateRecord, keyedRecord, smallRecord } from './records.mjs';

const KB = 1024;
const MB = 1024 * 1024;
// Each line is exactly this long with its newline, so a "1 KB record" is 1024 bytes on disk.
const RECORD = KB;

/** Every dataset a profile needs, each `{ name, file, format, items, valueBytes, keyArgs }`. */
export async function ensureDatasets(dataDir, profile) {
  fs.mkdirSync(dataDir, { recursive: true });
  const sets = {};
  const add = async (name, spec) => (sets[name] = await ensure(dataDir, spec));
  await add('records', ndjson(`records-${profile.records}`, profile.records, (n) => keyedRecord(n, RECORD - 1)));
  await add('csv', csv(`records-${profile.records}`, profile.records, RECORD - 1));
  await add('json', jsonArray(`records-${profile.records}`, profile.records, (n) => keyedRecord(n, RECORD - 1)));
  await add('dups', { ...ndjson(`dups-${profile.dups}-${profile.distinct}`, profile.dups, (n) => duplicateRecord(n, RECORD - 1, profile.distinct)), keyArgs: ['--key', '{$line}'] });
  await add('values64k', ndjson(`values64k-${profile.values64k}`, profile.values64k, (n) => keyedRecord(n, 64 * KB - 1)));
  await add('values1m', { ...ndjson(`values1m-${profile.values1m}`, profile.values1m, (n) => keyedRecord(n, MB - 1)), filesDir: true });
  await add('sweep', ndjson(`records-${profile.sweepRecords}`, profile.sweepRecords, (n) => keyedRecord(n, RECORD - 1)));
  if (profile.bigRecords) await add('big', ndjson(`records-${profile.bigRecords}`, profile.bigRecords, (n) => keyedRecord(n, RECORD - 1)));
  if (profile.bigJsonRecords) await add('bigJson', jsonArray(`records-${profile.bigJsonRecords}`, profile.bigJsonRecords, (n) => keyedRecord(n, RECORD - 1)));
  if (profile.failingRecords) await add('failing', ndjson(`records-${profile.failingRecords}`, profile.failingRecords, (n) => keyedRecord(n, RECORD - 1)));
  if (profile.startupItems) await add('small', ndjson(`small-${profile.startupItems}`, profile.startupItems, smallRecord));
  return sets;
}

/** Issue 17's inputs: the 1 KB records of the main table, and 64 KB values in the number the shared store's target names. */
export async function ensureSharedDatasets(dataDir, profile) {
  fs.mkdirSync(dataDir, { recursive: true });
  return {
    records: await ensure(dataDir, ndjson(`records-${profile.records}`, profile.records, (n) => keyedRecord(n, RECORD - 1))),
    values64k: await ensure(dataDir, ndjson(`values64k-${profile.sharedValues64k}`, profile.sharedValues64k, (n) => keyedRecord(n, 64 * KB - 1))),
  };
}

function ndjson(base, items, text) {
  return { name: base, file: `${base}.ndjson`, format: 'ndjson', items, keyArgs: [], lines: (n) => text(n) };
}

/** The same records as one JSON array, an element a line: `[`, then `{…},` lines, then `]`. */
function jsonArray(base, items, text) {
  return { name: `${base}-json`, file: `${base}.json`, format: 'json', items, keyArgs: [], header: '[', separator: ',', footer: ']', lines: (n) => text(n) };
}

function csv(base, items, size) {
  return { name: `${base}-csv`, file: `${base}.csv`, format: 'csv', items, keyArgs: [], header: CSV_HEADER, lines: (n) => csvRow(n, size) };
}

async function ensure(dataDir, spec) {
  const file = path.join(dataDir, spec.file);
  const metaFile = `${file}.meta.json`;
  const dataset = { name: spec.name, file, format: spec.format, items: spec.items, keyArgs: spec.keyArgs };
  if (spec.filesDir) dataset.filesDir = `${file}.files`;
  if (fs.existsSync(metaFile) && fs.existsSync(file)) return { ...dataset, ...JSON.parse(fs.readFileSync(metaFile, 'utf8')) };

  process.stderr.write(`generating ${path.relative(process.cwd(), file)} (${spec.items} records)…\n`);
  const { valueBytes, fileBytes } = await writeLines(file, spec);
  if (dataset.filesDir) writeValueFiles(dataset.filesDir, spec);
  const meta = { valueBytes, fileBytes };
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  return { ...dataset, ...meta };
}

async function writeLines(file, spec) {
  const tmp = `${file}.tmp`;
  const out = fs.createWriteStream(tmp);
  let valueBytes = 0;
  let fileBytes = 0;
  let chunk = spec.header ? `${spec.header}\n` : '';
  for (let n = 0; n < spec.items; n++) {
    const line = spec.lines(n);
    valueBytes += Buffer.byteLength(line);
    chunk += spec.separator && n < spec.items - 1 ? `${line}${spec.separator}\n` : `${line}\n`;
    if (chunk.length >= MB) {
      fileBytes += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  if (spec.footer) chunk += `${spec.footer}\n`;
  fileBytes += chunk.length;
  out.end(chunk);
  await once(out, 'finish');
  fs.renameSync(tmp, file);
  return { valueBytes, fileBytes };
}

// The reference for `cp`: the same values, one file each, as the blobs a store would hold.
function writeValueFiles(dir, spec) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  for (let n = 0; n < spec.items; n++) fs.writeFileSync(path.join(dir, String(n).padStart(6, '0')), spec.lines(n));
}
