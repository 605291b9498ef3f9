// npm run soak [-- --minutes N | --seconds N] [--seed N] [--keep]: overlapping importers with
// faults and signals, gc and stats, on growing inputs; then the checks. See bench/README.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, useBuildSnapshot } from '../tools.mjs';
import { formatSummary, summaryJson } from './report.mjs';
import { DEFAULTS, runSoak } from './soak.mjs';

const USAGE = `usage: npm run soak -- [--minutes N | --seconds N] [--seed N] [--importers N] [--inputs N]
                       [--lines-per-second N] [--faults SPEC] [--keep]`;

function parseArgs(argv) {
  const options = { seconds: 5 * 60, seed: Date.now() % 1_000_000 };
  const number = (text, flag) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) fail(`${flag} needs a positive number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--minutes') options.seconds = number(argv[++i], arg) * 60;
    else if (arg === '--seconds') options.seconds = number(argv[++i], arg);
    else if (arg === '--seed') options.seed = Math.floor(number(argv[++i], arg));
    else if (arg === '--importers') options.importers = Math.floor(number(argv[++i], arg));
    else if (arg === '--inputs') options.inputs = Math.floor(number(argv[++i], arg));
    else if (arg === '--lines-per-second') options.linesPerSecond = number(argv[++i], arg);
    else if (arg === '--faults') options.faults = String(argv[++i] ?? '');
    else if (arg === '--keep') options.keep = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown option ${arg}`);
  }
  return options;
}

function fail(message) {
  console.error(`soak: ${message}\n${USAGE}`);
  process.exit(2);
}

const options = parseArgs(process.argv.slice(2));
if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) fail('bwrite is not built; run `npm run build` (npm run soak does it)');
// A rebuild during a long soak (tests, an editor's watcher) would change what is being soaked.
const snapshot = fs.mkdtempSync(path.join(os.tmpdir(), 'bwrite-soak-build-'));
useBuildSnapshot(snapshot);
const log = (text) => process.stderr.write(`${text}\n`);
log(`soak: ${options.seconds} s, seed ${options.seed}, faults ${options.faults ?? DEFAULTS.faults}`);
// The first Ctrl-C ends the soak early and still checks the store; a second one leaves at once.
const controller = new AbortController();
process.once('SIGINT', () => {
  log('soak: stopping early (Ctrl-C again to leave without the checks)');
  controller.abort();
  process.once('SIGINT', () => process.exit(130));
});
let summary;
try {
  summary = await runSoak({ ...options, bwrite: path.join(snapshot, 'bin', 'bwrite'), log, signal: controller.signal });
} finally {
  fs.rmSync(snapshot, { recursive: true, force: true });
}
console.log(formatSummary(summary));
console.log(summaryJson(summary));
process.exitCode = summary.ok ? 0 : 1;
