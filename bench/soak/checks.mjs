// The end of a soak: one clean import, then every check, each a name and the problems it found.
import { RSS_LIMIT_MB } from '../targets.mjs';
import { describeProcess } from './judge.mjs';
import { recordImport } from './loops.mjs';
import { checkContent, parseExport, readFailureEntries } from './store-content.mjs';

const END_TIME_LIMIT_MS = 600_000;

/** Imports what is left of every input, sequentially and without faults (`--resume`). */
export async function finalImport(state) {
  const args = ['import', '--store', state.store, '--resume', '--json', '--progress', 'none', ...state.files];
  const result = await state.processes.start('import', args, { timeoutMs: END_TIME_LIMIT_MS }).result;
  state.counters.runsStarted++;
  const { status } = recordImport(state, result);
  if (status !== 'ok' && status !== 'partial') state.breach(`final import: status ${status ?? 'none'}, expected ok or partial: ${describeProcess(result)}`);
}

export async function runChecks(state) {
  const failures = readFailureEntries(state.store);
  const exported = await state.processes.start('export', ['export', '--store', state.store, '--with-keys'], { timeoutMs: END_TIME_LIMIT_MS }).result;
  const checks = [];
  if (exported.code === 0) checks.push(...checkContent(state.inputs, parseExport(exported.stdout), failures, { injectedCodes: injectedCodes(state.options.faults), runs: state.runs }));
  else checks.push({ id: 'export', name: 'export --with-keys exits 0', problems: [describeProcess(exported)] });
  checks.push(await verifyCheck(state));
  checks.push(rssCheck(state));
  checks.push({ id: 'exits', name: 'every command exits as the contract says', problems: state.breaches });
  return { checks: checks.map((check) => ({ ...check, ok: check.problems.length === 0 })), failures };
}

async function verifyCheck(state) {
  const result = await state.processes.start('verify', ['verify', '--store', state.store, '--deep'], { timeoutMs: END_TIME_LIMIT_MS }).result;
  const problems = result.code === 0 ? [] : [`${describeProcess(result)}\n${result.stdout.trim().split('\n').slice(0, 20).join('\n')}`];
  return { id: 'verify', name: 'verify --deep exits 0', problems };
}

function rssCheck(state) {
  const problems = state.processes.overLimit.map((p) => `${p.kind} peaked at ${(p.kb / 1024).toFixed(0)} MB: bwrite ${p.args.slice(0, 12).join(' ')}`);
  return { id: 'rss', name: `no process over ${RSS_LIMIT_MB} MB resident`, problems };
}

/** The codes BWRITE_FAULTS injects: the only ones a good record may fail with. */
export function injectedCodes(faults) {
  return faults ? faults.split(',').map((rule) => rule.split(':')[1]) : [];
}
