// What each command's exit must look like under the contract, and how a breach is described.

const STACK_FRAME = /^\s+at .+[.:]\d+:\d+\)?$/m;
const EXIT_FOR_STATUS = { ok: [0], partial: [1], aborted: [1, 3], interrupted: [130, 143] };

/** The last line of standard output parsed as JSON, or null. */
export function lastJson(stdout) {
  const line = stdout.trim().split('\n').at(-1);
  if (!line) return null;
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}

/** One line about a process for a diagnosis: the command, how it ended, the end of its stderr. */
export function describeProcess(result) {
  const args = result.args.map((arg) => (arg.includes('/') ? arg.slice(arg.lastIndexOf('/') + 1) : arg)).join(' ');
  const ended = result.signal ? `killed by ${result.signal}` : `exit ${result.code}`;
  const stderr = result.stderr.trim().split('\n').slice(-3).join(' | ').slice(-400);
  return `bwrite ${args}: ${ended}${stderr ? `; stderr: ${stderr}` : ''}`;
}

/**
 * An import's outcome: its --json summary's status, or `killed` when a signal the soak sent ended
 * it before it could print one; and every way its exit breaks the contract.
 */
export function judgeImport(result) {
  const summary = lastJson(result.stdout);
  const breaches = commonBreaches(result);
  if (!summary) {
    if (result.timedOut) return { status: null, summary, breaches };
    if (result.signal && result.signalsSent.includes(result.signal)) return { status: 'killed', summary, breaches };
    breaches.push(`ended without a --json summary: ${describeProcess(result)}`);
    return { status: null, summary, breaches };
  }
  const allowed = EXIT_FOR_STATUS[summary.status];
  // A signal that lands once the summary is out, as Node winds down, ends the process by default.
  const lateSignal = result.signal !== null && result.signalsSent.includes(result.signal);
  if (!allowed) breaches.push(`unknown status '${summary.status}': ${describeProcess(result)}`);
  else if (!allowed.includes(result.code) && !lateSignal) breaches.push(`status ${summary.status} with exit ${result.code ?? result.signal}: ${describeProcess(result)}`);
  // The only store failure the soak causes is the injected one.
  if (result.code === 3 && !String(summary.error).includes('BWRITE_FAULTS')) breaches.push(`the store failed for real (${summary.error}): ${describeProcess(result)}`);
  return { status: summary.status, summary, breaches, lateSignal };
}

/** gc and stats: exit 0, one JSON object on standard output. */
export function judgeMaintenance(result) {
  const breaches = commonBreaches(result);
  const json = lastJson(result.stdout);
  if (result.code !== 0) breaches.push(`exit ${result.code ?? result.signal}, not 0: ${describeProcess(result)}`);
  else if (json === null || typeof json !== 'object') breaches.push(`printed no JSON object: ${describeProcess(result)}; stdout: ${result.stdout.slice(0, 200)}`);
  return { json, breaches };
}

function commonBreaches(result) {
  const breaches = [];
  if (result.timedOut) breaches.push(`still running after its time limit, so killed: ${describeProcess(result)}`);
  if (STACK_FRAME.test(result.stderr)) breaches.push(`printed a stack trace: ${describeProcess(result)}`);
  return breaches;
}
