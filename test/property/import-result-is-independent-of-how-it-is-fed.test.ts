import { appendFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linesOf, sleep, startBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, importOk, parseSummary } from '../helpers/store.js';
import { exportText } from '../helpers/robustness.js';

// A few keys, so that records repeat keys often; some are not ASCII, to exercise key order.
const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'A', 'z', 'a/b', 'ä', 'ß', '日本', '😀', 'k10', 'k9'];

interface Rec {
  key: number;
  payload: string;
}

const recordArb = fc.record({ key: fc.nat({ max: KEYS.length - 1 }), payload: fc.string({ unit: 'binary', maxLength: 12 }) });
const recordsArb = fc.array(recordArb, { minLength: 1, maxLength: 60 });

/** The NDJSON line of record `i`: `seq` makes every occurrence of a key distinct. */
function line(rec: Rec, i: number): string {
  return JSON.stringify({ id: KEYS[rec.key], seq: i, p: rec.payload });
}

/** What the store must hold: the last occurrence of each key, ordered by the key's UTF-8 bytes. */
function model(lines: string[]): { key: string; value: unknown }[] {
  const last = new Map<string, string>();
  for (const text of lines) last.set((JSON.parse(text) as { id: string }).id, text);
  return [...last.keys()]
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((key) => ({ key, value: JSON.parse(last.get(key)!) as unknown }));
}

function parsedExport(text: string): { key: string; value: unknown }[] {
  return linesOf(text).map((entry) => JSON.parse(entry) as { key: string; value: unknown });
}

/** Split `lines` at the given cut points (sorted, deduplicated, within range) into consecutive parts. */
function splitAt(lines: string[], cuts: number[]): string[][] {
  const points = [...new Set(cuts.map((c) => c % (lines.length + 1)))].sort((a, b) => a - b);
  const parts: string[][] = [];
  let start = 0;
  for (const point of [...points, lines.length]) {
    parts.push(lines.slice(start, point));
    start = point;
  }
  return parts;
}

const text = (lines: string[]) => lines.map((l) => `${l}\n`).join('');

describe('the stored result does not depend on how the input is fed', () => {
  it('one file, or the same records split over several files in one run, under any --concurrency 1..32 and --batch-size 1..50, give the same export: the last occurrence of each key', async () => {
    const dir = await tempDir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        recordsArb,
        fc.array(fc.nat({ max: 60 }), { maxLength: 5 }),
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 1, max: 50 }),
        fc.constantFrom<string[]>([], ['--inline-max', '0']),
        async (records, cuts, concurrency, batchSize, inline) => {
          const work = join(dir, `run-${run++}`);
          await mkdir(work);
          try {
            const lines = records.map(line);
            const whole = await writeText(join(work, 'whole.ndjson'), text(lines));
            const parts = await Promise.all(splitAt(lines, cuts).map((part, i) => writeText(join(work, `part-${i}.ndjson`), text(part))));

            await importOk(join(work, 'one'), [whole]);
            const split = await importOk(join(work, 'split'), ['--concurrency', String(concurrency), '--batch-size', String(batchSize), ...inline, ...parts]);

            expect(split).toMatchObject({ read: lines.length, written: lines.length, failed: 0 });
            const reference = await exportText(join(work, 'one'));
            expect(parsedExport(reference)).toEqual(model(lines));
            expect(await exportText(join(work, 'split'))).toBe(reference);
          } finally {
            await rm(work, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 6 },
    );
  }, 120_000);

  it('standard input delivered in arbitrary chunks, cut even inside a line or a multi-byte character, stores the same as the whole', async () => {
    const dir = await tempDir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(recordsArb, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }), async (records, sizes) => {
        const store = join(dir, `stdin-${run++}`);
        try {
          const lines = records.map(line);
          const bytes = Buffer.from(text(lines), 'utf8');
          const args = ['import', '--store', store, '--json', '-'];
          const running = startBwrite(args, { keepStdinOpen: true });
          let offset = 0;
          for (let i = 0; offset < bytes.length; i++) {
            const size = sizes[i % sizes.length]!;
            running.child.stdin!.write(bytes.subarray(offset, offset + size));
            offset += size;
            // A pause lets each write reach bwrite as a chunk of its own.
            if (i % 4 === 0) await sleep(1);
          }
          running.child.stdin!.end();
          const result = await running.result;

          expect(result.code, describeRun(args, result)).toBe(0);
          expect(parseSummary(args, result)).toMatchObject({ read: lines.length, written: lines.length });
          expect(parsedExport(await exportText(store))).toEqual(model(lines));
        } finally {
          await rm(store, { recursive: true, force: true });
        }
      }),
      { numRuns: 6 },
    );
  }, 120_000);

  it('a file that grows between --resume runs ends with the store one import of the final file makes', async () => {
    const dir = await tempDir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(recordsArb, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 20 }), async (appends, batchSize) => {
        const work = join(dir, `grow-${run++}`);
        await mkdir(work);
        try {
          const file = join(work, 'log.ndjson');
          await writeText(file, '');
          let seq = 0;
          let total = 0;
          for (const chunk of appends) {
            const lines = chunk.map((rec) => line(rec, seq++));
            await appendFile(file, text(lines));
            const summary = await importOk(join(work, 'incremental'), ['--resume', '--batch-size', String(batchSize), file]);
            expect(summary).toMatchObject({ read: total + lines.length, skipped: total, written: lines.length });
            total += lines.length;
          }
          await importOk(join(work, 'once'), [file]);
          expect(await exportText(join(work, 'incremental'))).toBe(await exportText(join(work, 'once')));
        } finally {
          await rm(work, { recursive: true, force: true });
        }
      }),
      { numRuns: 4 },
    );
  }, 120_000);
});
