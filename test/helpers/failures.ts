// Inputs with bad lines at known places, and checks that every bad line is listed exactly once
// across the failures files of the runs that read it.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { linesOf } from './cli.js';
import type { Failure } from './store.js';
import { pad } from './robustness.js';

/** `n` lines; every `badEvery`-th lacks its key. Values are about `padBytes` bytes. */
export function inputText(n: number, badEvery: number, padBytes: number, tag = 'v'): string {
  let text = '';
  for (let i = 1; i <= n; i++) {
    const record = i % badEvery === 0 ? { nokey: i, tag } : { id: `k${pad(i)}`, tag, pad: 'p'.repeat(padBytes) };
    text += JSON.stringify(record) + '\n';
  }
  return text;
}

export function badLines(n: number, badEvery: number): number[] {
  return Array.from({ length: Math.floor(n / badEvery) }, (_, i) => (i + 1) * badEvery);
}

export async function entriesOf(files: string[]): Promise<Failure[]> {
  const entries: Failure[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of linesOf(text)) if (line.trim() !== '') entries.push(JSON.parse(line) as Failure);
  }
  return entries;
}

export async function storeFailureFiles(store: string): Promise<string[]> {
  const dir = join(store, 'failures');
  return (await readdir(dir)).filter((name) => name.endsWith('.ndjson')).map((name) => join(dir, name));
}

/** Every bad line of `source` is in the entries exactly once, and nothing else is. */
export function expectEachBadLineOnce(entries: Failure[], source: string, bad: number[]): void {
  const lines = entries.filter((entry) => entry.source === source).map((entry) => entry.line);
  const seen = new Map<number, number>();
  for (const line of lines) seen.set(line, (seen.get(line) ?? 0) + 1);
  const twice = [...seen].filter(([, count]) => count > 1).map(([line]) => line);
  expect(twice, 'lines that are in the failures files more than once').toEqual([]);
  expect([...seen.keys()].sort((a, b) => a - b)).toEqual(bad);
  expect(new Set(entries.map((entry) => entry.entry)).size, 'each entry has its own id').toBe(entries.length);
}
