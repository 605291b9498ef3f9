import { appendFile, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ndjson, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, exportMap, importJson, statsJson, type Summary } from '../helpers/store.js';
import { expectAccountedFor, failuresOf, pad } from '../helpers/robustness.js';

// Records big enough that 100 of them pass the first 4 KiB, which the fingerprint covers.
const record = (i: number) => ({ id: `r${pad(i, 4)}`, n: i, note: `record-number-${i}` });
const lines = (from: number, count: number, end = '\n') => ndjson(count, (i) => record(from + i)).replaceAll('\n', end);

/** `import --resume`'s summary (exit 0, or 1 when a record failed), checked against the history `stats` keeps of the run. */
async function resumeRun(store: string, file: string, context: string): Promise<Summary> {
  const { run, summary, args } = await importJson(store, ['--resume', '-b', '32', file]);
  expect(run.code, `${context}: ${describeRun(args, run)}`).toBe(summary.failed > 0 ? 1 : 0);
  expectAccountedFor(summary, context);
  const history = (await statsJson(store)).runs.find((run) => run.runId === summary.runId);
  expect(history, context).toMatchObject({ read: summary.read, written: summary.written, skipped: summary.skipped, failed: summary.failed });
  return summary;
}

describe('--resume reads a file on from where its committed prefix ends', () => {
  it('a log that grows between runs (byte-order mark, CRLF, a bad line, a half-written last line) imports only what is new, with the same counts as a full read', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'app.ndjson'), '\ufeff' + lines(0, 150, '\r\n') + 'not json\r\n' + '\r\n' + lines(150, 50, '\r\n'));
    const first = await resumeRun(store, file, 'first run');
    expect(first).toMatchObject({ read: 201, written: 200, skipped: 0, failed: 1 });

    await appendFile(file, lines(200, 30, '\r\n') + '{"id":"r0230","n":230,"no');
    const second = await importJson(store, ['--resume', '-b', '32', file]);
    expect(second.run.code, describeRun(second.args, second.run)).toBe(0);
    expectAccountedFor(second.summary, 'second run');
    expect(second.summary).toMatchObject({ read: 231, skipped: 201, written: 30, failed: 0 });
    expect(second.run.stderr).toContain(`${file}:233: the last line has no line end yet`);

    await appendFile(file, 'te":"record-number-230"}\r\n' + lines(231, 19, '\r\n'));
    const third = await resumeRun(store, file, 'third run');
    expect(third).toMatchObject({ read: 251, skipped: 231, written: 20, failed: 0 });

    const fourth = await resumeRun(store, file, 'a run with nothing new');
    expect(fourth).toMatchObject({ read: 251, skipped: 251, written: 0, failed: 0 });

    await appendFile(file, 'still not json\r\n' + lines(250, 1, '\r\n'));
    const fifth = await resumeRun(store, file, 'fifth run');
    expect(fifth).toMatchObject({ read: 253, skipped: 251, written: 1, failed: 1 });
    expect((await failuresOf(fifth, dir)).map((failure) => [failure.line, failure.code]), 'line numbers count on from the committed prefix').toEqual([[253, 'E_PARSE']]);

    const stored = await exportMap(store);
    expect(stored.size).toBe(251);
    expect(stored.get('r0000')).toEqual(record(0));
    expect(stored.get('r0230'), 'the line completed after a run read half of it').toEqual(record(230));
    expect(stored.get('r0250')).toEqual(record(250));
  });

  it('does not read the committed prefix again: a line end removed inside it in place does not renumber or skip the new lines', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'app.ndjson'), lines(0, 300));
    await resumeRun(store, file, 'first run');
    // Past the fingerprinted first 4 KiB: the file is still the same file, with the same size.
    const text = await readFile(file, 'utf8');
    const lineEnd = text.indexOf('\n', text.indexOf('"id":"r0200"'));
    const handle = await open(file, 'r+');
    await handle.write(' ', lineEnd);
    await handle.close();
    await appendFile(file, lines(300, 5) + 'not json\n');

    const summary = await resumeRun(store, file, 'after the edit in place');

    expect(summary).toMatchObject({ read: 306, skipped: 300, written: 5, failed: 1 });
    expect((await failuresOf(summary, dir)).map((failure) => failure.line)).toEqual([306]);
    const stored = await exportMap(store);
    expect(stored.size).toBe(305);
    expect(stored.get('r0300')).toEqual(record(300));
  });

  it('a file rewritten in place whose committed offset no longer follows a line end is read from the start, counting lines as before', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'app.ndjson'), lines(0, 300));
    await resumeRun(store, file, 'first run');
    // Same file, same first 4 KiB, one byte shorter from line 151 on: the old offset now falls
    // inside the first new line, which read from there would be a fragment that does not parse.
    const rewritten = lines(0, 150) + JSON.stringify({ ...record(150), note: 'record-number-15' }) + '\n' + lines(151, 149) + lines(300, 5);
    await writeFile(file, rewritten);

    const summary = await resumeRun(store, file, 'rewritten in place');

    expect(summary).toMatchObject({ read: 305, skipped: 300, written: 5, failed: 0 });
    const stored = await exportMap(store);
    expect(stored.size).toBe(305);
    expect(stored.get('r0150'), 'a committed line is not imported again').toEqual(record(150));
    expect(stored.get('r0300')).toEqual(record(300));
  });

  it('a watermark saved by an older bwrite, which counted only its own run\'s records, is read past once from the start, and the counts stay exact', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const file = await writeText(join(dir, 'app.ndjson'), lines(0, 300));
    await resumeRun(store, file, 'first run');
    await appendFile(file, lines(300, 20));
    await resumeRun(store, file, 'second run');
    // What an older bwrite left: the second run's watermark counting only the 20 records it read,
    // and no note of since when watermarks count every record.
    const db = new Database(join(store, 'index.db'));
    db.prepare(`UPDATE sources SET records = 20`).run();
    db.prepare(`DELETE FROM meta WHERE name = 'watermark_records_since'`).run();
    db.close();
    await appendFile(file, lines(320, 3));

    const upgraded = await resumeRun(store, file, 'first run of this bwrite');
    expect(upgraded).toMatchObject({ read: 323, skipped: 320, written: 3, failed: 0 });
    await appendFile(file, lines(323, 2));
    const next = await resumeRun(store, file, 'the run after');
    expect(next).toMatchObject({ read: 325, skipped: 323, written: 2, failed: 0 });
  });

  it('a CSV file with a header resumes past a row that spans lines, keyed by the header read at the start', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const rows = (from: number, count: number) => Array.from({ length: count }, (_, i) => `${from + i},name-${from + i},"city ${from + i}"\n`).join('');
    const file = await writeText(join(dir, 'people.csv'), 'id,name,city\n' + rows(0, 200) + '200,"two\nlines",somewhere\n');
    const first = await resumeRun(store, file, 'first run');
    expect(first).toMatchObject({ read: 201, written: 201, failed: 0 });

    await appendFile(file, rows(201, 40));
    const second = await resumeRun(store, file, 'second run');
    expect(second).toMatchObject({ read: 241, skipped: 201, written: 40, failed: 0 });

    await appendFile(file, rows(241, 1) + '242,only-two-fields\n');
    const third = await resumeRun(store, file, 'third run');
    expect(third).toMatchObject({ read: 243, skipped: 241, written: 1, failed: 1 });
    expect((await failuresOf(third, dir)).map((failure) => [failure.line, failure.code])).toEqual([[245, 'E_CSV_COLUMNS']]);
    const stored = await exportMap(store);
    expect(stored.size).toBe(242);
    expect(stored.get('200')).toEqual({ id: '200', name: 'two\nlines', city: 'somewhere' });
    expect(stored.get('241')).toEqual({ id: '241', name: 'name-241', city: 'city 241' });
  });
});
