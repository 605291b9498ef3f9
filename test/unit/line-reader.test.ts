import { describe, expect, it } from 'vitest';
import { LineBuffers } from '../../src/input/line-buffers.js';
import { decodeUtf8, readLines, type RawLine } from '../../src/input/line-reader.js';

async function lines(chunks: string[] | Buffer[], max = 100): Promise<RawLine[]> {
  async function* source() {
    for (const chunk of chunks) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
  }
  const out: RawLine[] = [];
  for await (const batch of readLines(source(), max)) out.push(...batch);
  return out;
}

const texts = (found: RawLine[]) => found.map((l) => (l.bytes ? l.bytes.toString() : null));

describe('readLines', () => {
  it('gives the same lines however the input is split into chunks', async () => {
    const text = 'a\r\nbb\n\nccc\r\nlast';
    const whole = await lines([text]);
    const bytewise = await lines(text.split(''));
    expect(texts(whole)).toEqual(['a', 'bb', '', 'ccc', 'last']);
    expect(texts(bytewise)).toEqual(texts(whole));
    expect(bytewise.map((l) => l.line)).toEqual([1, 2, 3, 4, 5]);
  });

  it('drops a byte-order mark at the start only', async () => {
    expect(texts(await lines(['\ufeffx\n\ufeffy\n']))).toEqual(['x', '\ufeffy']);
  });

  it('reports a line over the limit by size without keeping its bytes, and goes on', async () => {
    const long = 'z'.repeat(250);
    const found = await lines([long.slice(0, 90), long.slice(90), '\nok\n'], 100);
    expect(found[0]).toEqual({ line: 1, bytes: null, size: 250, end: 251 });
    expect(texts(found.slice(1))).toEqual(['ok']);
    expect(found[1]!.line).toBe(2);
  });
  it('keeps no view of a chunk: the reader may reuse its buffer for the next read', async () => {
    const text = 'first\nsecond spans\r\nthree chunks and more\nlast';
    const reused = Buffer.alloc(7);
    async function* overwritten() {
      for (let at = 0; at < text.length; at += reused.length) {
        const n = reused.write(text.slice(at, at + reused.length));
        yield reused.subarray(0, n);
        reused.fill(0x23);
      }
    }
    const found: RawLine[] = [];
    for await (const batch of readLines(overwritten(), 100)) found.push(...batch);
    expect(texts(found)).toEqual(['first', 'second spans', 'three chunks and more', 'last']);
  });
});

describe('readLines with line buffers', () => {
  it('gives a line that spans chunks a buffer near its own size, even right after a huge one', async () => {
    const huge = 'h'.repeat(300_000);
    const short = 's'.repeat(2_000);
    const text = Buffer.from(`${huge}\n${'x'.repeat(65_536 * 5 - huge.length - 1 - 1_000)}\n${short}\n`);
    async function* chunked() {
      for (let at = 0; at < text.length; at += 65_536) yield text.subarray(at, at + 65_536);
    }
    const found: RawLine[] = [];
    for await (const batch of readLines(chunked(), 1_000_000, new LineBuffers())) found.push(...batch);
    expect(texts(found)).toEqual([huge, 'x'.repeat(65_536 * 5 - huge.length - 1 - 1_000), short]);
    expect(found[2]!.bytes!.buffer.byteLength, 'the short line begun 1,000 bytes before a chunk ends').toBeLessThan(64 * 1024);
  });
});

describe('decodeUtf8', () => {
  it('refuses invalid UTF-8 instead of replacing it', () => {
    expect(decodeUtf8(Buffer.from([0x7b, 0xff, 0x7d]))).toBeNull();
    expect(decodeUtf8(Buffer.from('Zürich'))).toBe('Zürich');
  });
});
