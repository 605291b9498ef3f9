// The soak's summary: figures from the run, the checks, and how both are printed.
import { RUN_STATUSES } from './state.mjs';

const EXAMPLES_SHOWN = 10;

/** Everything a reader of the soak needs, as one object (the JSON line prints it). */
export function summarize(state, checks, failures) {
  const { counters, options } = state;
  const lines = state.inputs.reduce((sum, input) => sum + input.lines.length, 0);
  const lost = checks.find((check) => check.id === 'nothing-lost')?.problems ?? [];
  return {
    ok: checks.every((check) => check.ok),
    seed: state.seed,
    seconds: options.seconds,
    elapsedSeconds: Math.round(state.elapsedSeconds),
    stoppedEarly: state.stoppedEarly,
    importers: options.importers,
    inputs: state.inputs.length,
    faults: options.faults,
    runs: { started: counters.runsStarted, ...counters.runs },
    recordsAppended: lines,
    badLines: state.inputs.reduce((sum, input) => sum + input.badLines, 0),
    recordsCommitted: counters.committed,
    kills: counters.kills,
    sigterms: counters.sigterms,
    lateSignals: counters.lateSignals,
    retries: counters.retries,
    failuresFiles: failures.files,
    failedByCode: countBy(failures.entries.map((entry) => entry.code)),
    gcRuns: counters.gcRuns,
    statsRuns: counters.statsRuns,
    maxRssMb: Object.fromEntries([...state.processes.peaks].map(([kind, peak]) => [kind, Math.round(peak.kb / 1024)])),
    lost: lost.length,
    checks,
    dir: options.keep ? state.dir : null,
  };
}

/** The human table, then each check with up to EXAMPLES_SHOWN of its problems. */
export function formatSummary(summary) {
  const runs = RUN_STATUSES.map((status) => `${status} ${summary.runs[status]}`).join(', ');
  const failed = Object.entries(summary.failedByCode).map(([code, n]) => `${code} ${n}`).join(', ') || 'none';
  const rss = Object.entries(summary.maxRssMb).map(([kind, mb]) => `${kind} ${mb} MB`).join(', ');
  const rows = [
    ['duration', `${summary.elapsedSeconds} s (${summary.seconds} s of soak${summary.stoppedEarly ? ', stopped early' : ''}), seed ${summary.seed}, ${summary.importers} importers over ${summary.inputs} inputs`],
    ['importer runs', `${summary.runs.started} started: ${runs}`],
    ['records', `${summary.recordsAppended} appended (${summary.badLines} bad lines), ${summary.recordsCommitted} committed (sum of the summaries' written)`],
    ['signals', `${summary.kills} kill -9, ${summary.sigterms} SIGTERM (${summary.lateSignals} of them after the run's summary was out)`],
    ['faults', `${summary.faults}: ${summary.retries} retries; failed items by code: ${failed} (in ${summary.failuresFiles} failures files)`],
    ['gc, stats', `${summary.gcRuns} gc runs, ${summary.statsRuns} stats runs`],
    ['peak RSS', rss],
    ['lost', String(summary.lost)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const out = rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
  out.push('', 'checks:');
  for (const check of summary.checks) out.push(...formatCheck(check));
  if (summary.dir) out.push('', `kept: ${summary.dir} (store/, inputs/)`);
  return out.join('\n');
}

function formatCheck(check) {
  const head = `  ${check.ok ? 'PASS' : 'FAIL'}  ${check.name}${check.ok ? '' : ` (${check.problems.length})`}`;
  const shown = check.problems.slice(0, EXAMPLES_SHOWN).map((problem) => `        ${problem}`);
  if (check.problems.length > EXAMPLES_SHOWN) shown.push(`        … and ${check.problems.length - EXAMPLES_SHOWN} more`);
  return [head, ...shown];
}

/** One JSON line: the figures, and each check with its count and first problems. */
export function summaryJson(summary) {
  const checks = summary.checks.map((check) => ({ id: check.id, name: check.name, ok: check.ok, problems: check.problems.length, examples: check.problems.slice(0, EXAMPLES_SHOWN) }));
  return JSON.stringify({ ...summary, checks });
}

function countBy(values) {
  const counts = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

