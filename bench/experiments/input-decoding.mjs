// node bench/experiments/input-decoding.mjs [--records N] [--rounds N]: what reading compressed
// or transcoded input costs (issue 16). For gzip, zstd, xz and bzip2: the Debian tool's
// `-dc > /dev/null` against bwrite's decoder (dist/input/decompress.js, the library it uses, fed as
// an import feeds it), in MB/s of decompressed output; then `bwrite import --dry-run` of the
// plain file against each compressed one and against Latin-1 and UTF-16 copies (--encoding), as
// records/s ratios. Rounds are interleaved; medians reported. Needs `npm run build` and
// `apt-get install zstd xz-utils bzip2`. Writes nothing outside a temp directory.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BWRITE = path.join(ROOT, 'bin', 'bwrite');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const RECORDS = option('--records', 200_000);
const ROUNDS = option('--rounds', 5);

const { decompress } = await import(path.join(ROOT, 'dist', 'input', 'decompress.js'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bwrite-decoding-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

// Records like a log: a few fields, words drawn from a small vocabulary, some accented (Latin-1 has them).
const WORDS = ['alpha', 'bravo', 'café', 'delta', 'écho', 'foxtrot', 'golf', 'hôtel', 'india', 'juliett', 'kilo', 'lima', 'mike', 'novémber', 'oscar'];
let seed = 42;
const random = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};
let text = '';
for (let i = 0; i < RECORDS; i++) {
  const words = Array.from({ length: 8 + Math.floor(random() * 24) }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');
  text += `${JSON.stringify({ id: `r${i}`, ts: 1_700_000_000 + Math.floor(random() * 1e6), level: ['info', 'warn', 'error'][i % 3], user: Math.floor(random() * 1e5), session: Math.floor(random() * 2 ** 31).toString(16) + Math.floor(random() * 2 ** 31).toString(16), message: words })}\n`;
}
const plain = path.join(dir, 'records.ndjson');
fs.writeFileSync(plain, text);
const size = fs.statSync(plain).size;
fs.writeFileSync(path.join(dir, 'latin1.ndjson'), Buffer.from(text, 'latin1'));
fs.writeFileSync(path.join(dir, 'utf16.ndjson'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));

const CODECS = [
  { name: 'gzip', suffix: 'gz', pack: ['gzip', '-c'], unpack: 'gzip -dc' },
  { name: 'zstd', suffix: 'zst', pack: ['zstd', '-q', '-c'], unpack: 'zstd -qdc' },
  { name: 'xz', suffix: 'xz', pack: ['xz', '-c', '-T1'], unpack: 'xz -dc' },
  { name: 'bzip2', suffix: 'bz2', pack: ['bzip2', '-c'], unpack: 'bzip2 -dc' },
];
for (const codec of CODECS) {
  codec.file = `${plain}.${codec.suffix}`;
  fs.writeFileSync(codec.file, execFileSync(codec.pack[0], [...codec.pack.slice(1), plain], { maxBuffer: 1 << 30 }));
}

const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function library(codec) {
  const start = process.hrtime.bigint();
  let bytes = 0;
  const raw = fs.createReadStream(codec.file, { highWaterMark: 1 << 20 });
  for await (const chunk of decompress(raw, { compression: codec.name, chunkSize: 1 << 20, file: codec.file, onRead: () => {} })) bytes += chunk.length;
  if (bytes !== size) throw new Error(`${codec.name}: decoded ${bytes} bytes, expected ${size}`);
  return seconds(start);
}

function tool(codec) {
  const start = process.hrtime.bigint();
  const run = spawnSync('sh', ['-c', `${codec.unpack} < '${codec.file}' > /dev/null`]);
  if (run.status !== 0) throw new Error(`${codec.unpack} failed`);
  return seconds(start);
}

function dryRun(file, extra = []) {
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, [BWRITE, 'import', '--dry-run', '--json', '--progress', 'none', ...extra, '-f', 'ndjson', file], { encoding: 'utf8' });
  const summary = JSON.parse(run.stdout);
  if (summary.written !== RECORDS) throw new Error(`${file}: ${run.stdout} ${run.stderr}`);
  return seconds(start);
}

const times = new Map();
const note = (key, value) => times.set(key, [...(times.get(key) ?? []), value]);
for (let round = 0; round < ROUNDS; round++) {
  for (const codec of CODECS) {
    note(`${codec.name} tool`, tool(codec));
    note(`${codec.name} library`, await library(codec));
    note(`${codec.name} import`, dryRun(codec.file));
  }
  note('plain import', dryRun(plain));
  note('latin1 import', dryRun(path.join(dir, 'latin1.ndjson'), ['--encoding', 'latin1']));
  note('utf16 import', dryRun(path.join(dir, 'utf16.ndjson')));
}

const mb = size / 1e6;
const plainTime = median(times.get('plain import'));
console.log(`${RECORDS} records, ${mb.toFixed(1)} MB of NDJSON; medians of ${ROUNDS} interleaved rounds; ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}\n`);
console.log('| input | compressed | Debian tool -dc, MB/s | bwrite decoder, MB/s | import --dry-run, records/s | × plain |');
console.log('| --- | --- | --- | --- | --- | --- |');
console.log(`| plain UTF-8 | ${mb.toFixed(1)} MB | | | ${Math.round(RECORDS / plainTime)} | 1.00 |`);
for (const codec of CODECS) {
  const packed = fs.statSync(codec.file).size / 1e6;
  const importTime = median(times.get(`${codec.name} import`));
  console.log(`| ${codec.name} | ${packed.toFixed(1)} MB | ${Math.round(mb / median(times.get(`${codec.name} tool`)))} | ${Math.round(mb / median(times.get(`${codec.name} library`)))} | ${Math.round(RECORDS / importTime)} | ${(plainTime / importTime).toFixed(2)} |`);
}
for (const [name, key] of [['Latin-1 (--encoding latin1)', 'latin1'], ['UTF-16LE with BOM', 'utf16']]) {
  const importTime = median(times.get(`${key} import`));
  console.log(`| ${name} | | | | ${Math.round(RECORDS / importTime)} | ${(plainTime / importTime).toFixed(2)} |`);
}
