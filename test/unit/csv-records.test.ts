import { describe, expect, it } from 'vitest';
import { CsvRecordSplitter, type CsvRecord } from '../../src/input/csv-records.js';

function split(chunks: string[], options: { max?: number; delimiter?: string; quoting?: boolean } = {}): CsvRecord[] {
  const splitter = new CsvRecordSplitter({ delimiter: options.delimiter ?? ',', quoting: options.quoting ?? true, maxRecordBytes: options.max ?? 100 });
  const out: CsvRecord[] = [];
  for (const chunk of chunks) out.push(...splitter.push(Buffer.from(chunk, 'utf8')));
  out.push(...splitter.finish());
  return out;
}

const shape = (records: CsvRecord[]) => records.map((r) => [r.line, r.bytes?.toString() ?? null, r.end]);

describe('CsvRecordSplitter', () => {
  it('gives the same records, lines and offsets however the input is split into chunks', () => {
    const text = 'id,v\r\n1,"a\r\nb"\r2,"x\ry"\n\n3,"q""\n"\r\r\n4,last';
    const whole = split([text]);
    expect(shape(whole)).toEqual([
      [1, 'id,v', 6],
      [2, '1,"a\r\nb"', 15],
      [4, '2,"x\ry"', 23],
      [7, '3,"q""\n"', 33],
      [10, '4,last', 41],
    ]);
    expect(shape(split(text.split('')))).toEqual(shape(whole));
    expect(whole.at(-1)?.unterminated).toBe(true);
  });

  it('keeps no view of a chunk: the reader may reuse its buffer for the next read', () => {
    const text = 'id,v\r\n1,"spans\nchunks"\r2,held\r\n3,last';
    const splitter = new CsvRecordSplitter({ delimiter: ',', quoting: true, maxRecordBytes: 100 });
    const reused = Buffer.alloc(5);
    const out: CsvRecord[] = [];
    for (let at = 0; at < text.length; at += reused.length) {
      const n = reused.write(text.slice(at, at + reused.length));
      out.push(...splitter.push(reused.subarray(0, n)));
      reused.fill(0x23);
    }
    out.push(...splitter.finish());
    expect(out.map((r) => r.bytes?.toString())).toEqual(['id,v', '1,"spans\nchunks"', '2,held', '3,last']);
  });

  it('ends a record at a lone CR, and moves its end past the LF of a CRLF split across chunks', () => {
    expect(shape(split(['id,v\r1,a\r', '\n2,b\r']))).toEqual([
      [1, 'id,v', 5],
      [2, '1,a', 10],
      [3, '2,b', 14],
    ]);
  });

  it('opens a quote only at the start of a field', () => {
    expect(shape(split(['a,b"c\nd,"e\nf"\n']))).toEqual([
      [1, 'a,b"c', 6],
      [2, 'd,"e\nf"', 14],
    ]);
  });

  it('knows a field start after a delimiter of several UTF-8 bytes', () => {
    expect(shape(split(['a§"b\nc"\nd\n'], { delimiter: '§' })).map((r) => r[1])).toEqual(['a§"b\nc"', 'd']);
  });

  it('treats a quote as an ordinary character without quoting (TSV)', () => {
    expect(shape(split(['a\t"b\nc"\n'], { delimiter: '\t', quoting: false })).map((r) => r[1])).toEqual(['a\t"b', 'c"']);
  });

  it('reports a record over the limit by size without its bytes, and goes on', () => {
    const records = split(['1,a\n2,"', 'z\n'.repeat(100), '"\n3,c\n'], { max: 50 });
    expect(records.map((r) => [r.line, r.bytes?.toString() ?? null, r.size])).toEqual([
      [1, '1,a', 3],
      [2, null, 204],
      [103, '3,c', 3],
    ]);
  });

  it('marks a quote still open at the end of the input as unclosed, from its first line', () => {
    const records = split(['id\n1\n"open\n', 'x\n'.repeat(200)], { max: 50 });
    expect(records.map((r) => [r.line, r.bytes, r.unclosed])).toEqual([
      [1, expect.anything(), undefined],
      [2, expect.anything(), undefined],
      [3, null, true],
    ]);
  });
});
