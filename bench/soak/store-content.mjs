// Checks 1–3: what the store holds and what the failures files say, against every line the
// inputs were given. A line "failed for good" when some failures file names it.
import fs from 'node:fs';
import path from 'node:path';

/** Every entry of every `failures/*.ndjson` in the store, with the file it is in. */
export function readFailureEntries(store) {
  const dir = path.join(store, 'failures');
  const entries = [];
  const unreadable = [];
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.ndjson')).sort() : [];
  for (const file of files) {
    const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n');
    lines.forEach((text, i) => {
      if (text === '' && i === lines.length - 1) return;
      try {
        const entry = JSON.parse(text);
        entries.push({ file, source: entry.source, line: entry.line, code: entry.code });
      } catch {
        unreadable.push(`failures/${file} line ${i + 1} is not a JSON object: ${text.slice(0, 120)}`);
      }
    });
  }
  return { files: files.length, entries, unreadable };
}

/** `bwrite export --with-keys` output as key → the stored record. */
export function parseExport(stdout) {
  const stored = new Map();
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const { key, value } = JSON.parse(line);
    stored.set(key, value);
  }
  return stored;
}

/**
 * The three checks on content. `stored` is key → record; `failures` the entries of every
 * failures file; `injectedCodes` the codes a good line may fail with (the faults injected);
 * `runs` the runs' times by run id, to say how a line came to be failed twice.
 */
export function checkContent(inputs, stored, failures, { injectedCodes, runs }) {
  const bySourceLine = groupFailures(failures.entries);
  // Values missing or older than they must be come first, then values stored twice over.
  const lastOccurrence = { lost: [], other: [] };
  // Lines read again by a later run come first: they say more than lines two runs read at once.
  const failedOnce = { readAgain: [], other: [...failures.unreadable] };
  const lost = [];
  const keysSeen = new Set();
  for (const input of inputs) {
    const failed = bySourceLine.get(path.resolve(input.file)) ?? new Map();
    const name = path.basename(input.file);
    const expected = expectedLines(input, failed);
    for (const key of new Set(input.lines.map((line) => line.key).filter((key) => key !== null))) {
      keysSeen.add(key);
      const problem = compareKey(key, name, input, stored.get(key), expected.get(key), failed);
      if (problem) (problem.lost ? lastOccurrence.lost : lastOccurrence.other).push(problem.text);
    }
    failureProblems(input, name, failed, injectedCodes, runs, failedOnce);
    lost.push(...lostLines(input, name, stored, failed));
    for (const [line, entries] of failed) if (!(line >= 1 && line <= input.lines.length)) failedOnce.other.push(`${name} has no line ${line}, yet ${listFiles(entries)} names it`);
  }
  for (const key of stored.keys()) if (!keysSeen.has(key)) lastOccurrence.other.push(`key ${key} is stored but is in no input`);
  const known = new Set(inputs.map((input) => path.resolve(input.file)));
  for (const [source, lines] of bySourceLine) if (!known.has(source)) failedOnce.other.push(`${[...lines.values()].flat().length} failure entries name ${source}, which is not an input`);
  return [
    { id: 'last-occurrence', name: 'each key holds the last occurrence that did not fail', problems: [...lastOccurrence.lost, ...lastOccurrence.other] },
    { id: 'failed-once', name: 'each failed line is in exactly one failures file', problems: [...failedOnce.readAgain, ...failedOnce.other] },
    { id: 'nothing-lost', name: 'every line is stored or failed: nothing lost', problems: lost },
  ];
}

/** source → line → the failure entries naming it. */
function groupFailures(entries) {
  const groups = new Map();
  for (const entry of entries) {
    const source = typeof entry.source === 'string' ? path.resolve(entry.source) : String(entry.source);
    if (!groups.has(source)) groups.set(source, new Map());
    const lines = groups.get(source);
    if (!lines.has(entry.line)) lines.set(entry.line, []);
    lines.get(entry.line).push(entry);
  }
  return groups;
}

/** key → the line of its last occurrence that is in no failures file. */
function expectedLines(input, failed) {
  const expected = new Map();
  input.lines.forEach(({ key }, i) => {
    if (key !== null && !failed.has(i + 1)) expected.set(key, i + 1);
  });
  return expected;
}

/**
 * Null when the stored record is line `want`; else what is wrong, with the lines involved, and
 * whether a value is missing or older than it must be (`lost`).
 */
function compareKey(key, name, input, record, want, failed) {
  if (record === undefined) return want === undefined ? null : { lost: true, text: `key ${key}: absent; expected ${name} line ${want}` };
  const got = record?.v;
  const text = Number.isInteger(got) ? input.lines[got - 1]?.text : undefined;
  if (text !== JSON.stringify(record)) return { lost: true, text: `key ${key}: stored value is no line of ${name}: ${JSON.stringify(record).slice(0, 120)}` };
  if (got === want) return null;
  if (want === undefined) return { lost: false, text: `key ${key}: stored ${name} line ${got}, but every line of this key is in a failures file (line ${got}: ${listFiles(failed.get(got))})` };
  if (got < want) return { lost: true, text: `key ${key}: stored ${name} line ${got}, expected line ${want} (a later occurrence in no failures file): a lost update` };
  return { lost: false, text: `key ${key}: stored ${name} line ${got}, yet ${listFiles(failed.get(got))} lists that line as failed (one run failed it, another stored it); expected line ${want}, the last occurrence no failures file lists` };
}

/** Every bad line once; no line twice; a good line only with a code the soak injects. */
function failureProblems(input, name, failed, injectedCodes, runs, problems) {
  input.lines.forEach(({ key }, i) => {
    const entries = failed.get(i + 1) ?? [];
    if (entries.length > 1) {
      const how = howListedTwice(entries, runs);
      (how.readAgain ? problems.readAgain : problems.other).push(`${name} line ${i + 1} is listed ${entries.length} times: ${listFiles(entries)}${how.text}`);
    }
    if (key === null && entries.length === 0) problems.other.push(`${name} line ${i + 1} is a bad line, but no failures file lists it`);
    const unexpected = key === null ? [] : entries.filter((entry) => !injectedCodes.includes(entry.code));
    if (unexpected.length > 0) problems.other.push(`${name} line ${i + 1} is a good record, yet ${listFiles(unexpected)} lists it failed`);
  });
}

/** Lines neither covered by what is stored (their key holds them or a later line) nor in a failures file. */
function lostLines(input, name, stored, failed) {
  const lost = [];
  input.lines.forEach(({ key }, i) => {
    const line = i + 1;
    if (failed.has(line)) return;
    const storedLine = key === null ? undefined : stored.get(key)?.v;
    if (key !== null && Number.isInteger(storedLine) && storedLine >= line) return;
    lost.push(`${name} line ${line}${key === null ? ' (a bad line)' : ` (key ${key}, which holds ${storedLine === undefined ? 'nothing' : `line ${storedLine}`})`}`);
  });
  return lost;
}

/**
 * Whether the runs that listed a line ran at the same time, or one started after another had
 * finished (so it read again a line an earlier run had failed and committed past).
 */
function howListedTwice(entries, runs) {
  const listed = entries.map((entry) => {
    const id = entry.file.replace(/\.ndjson$/, '');
    return { id, ...runs.get(id) };
  });
  const timed = listed.filter((run) => run.startedAt !== undefined).sort((a, b) => a.startedAt - b.startedAt);
  const untimed = listed.length - timed.length;
  const killed = untimed === 0 ? [] : [`${untimed === 1 ? 'one run' : `${untimed} runs`} printed no summary (killed)`];
  for (const later of timed) {
    const earlier = timed.find((run) => run.finishedAt < later.startedAt);
    if (!earlier) continue;
    // A run that ended ok or partial committed every batch, and its resume watermark with each.
    const committed = earlier.status === 'ok' || earlier.status === 'partial' ? ' and committed past it' : '';
    const notes = [`run ${later.id} started after run ${earlier.id} (${earlier.status}) had finished${committed}, yet read the line again`, ...killed];
    return { readAgain: true, text: ` — ${notes.join('; ')}` };
  }
  const notes = [...(timed.length > 1 ? ['by runs that ran at the same time'] : []), ...killed];
  return { readAgain: false, text: notes.length > 0 ? ` — ${notes.join('; ')}` : '' };
}

function listFiles(entries = []) {
  return entries.map((entry) => `failures/${entry.file} (${entry.code})`).join(', ');
}
