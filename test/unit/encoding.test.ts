import { describe, expect, it } from 'vitest';
import { toUtf8 } from '../../src/input/encoding.js';

async function transcode(chunks: Buffer[], encoding: Parameters<typeof toUtf8>[1]): Promise<Buffer> {
  async function* feed(): AsyncGenerator<Buffer> {
    yield* chunks;
  }
  const out: Buffer[] = [];
  for await (const chunk of toUtf8(feed(), encoding)) out.push(chunk);
  return Buffer.concat(out);
}

describe('toUtf8', () => {
  const text = 'a😀Ċ\nz𝄞\r\nü';

  it.each(['utf-16le', 'utf-16be'] as const)('%s gives the same UTF-8 wherever the input is cut into chunks, even inside a surrogate pair', async (encoding) => {
    const bytes = encoding === 'utf-16le' ? Buffer.from(text, 'utf16le') : Buffer.from(text, 'utf16le').swap16();
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (let second = cut; second <= bytes.length; second++) {
        const got = await transcode([bytes.subarray(0, cut), bytes.subarray(cut, second), bytes.subarray(second)], encoding);
        expect(got.toString('utf8'), `cut at ${cut} and ${second}`).toBe(text);
      }
    }
  });

  it('turns an unpaired surrogate, or an odd last byte, into an 0xFF byte that no UTF-8 reader accepts', async () => {
    const lone = Buffer.concat([Buffer.from('a', 'utf16le'), Buffer.from([0x00, 0xd8]), Buffer.from('b\n', 'utf16le'), Buffer.from([0x41])]);
    const got = await transcode([lone], 'utf-16le');
    expect([...got]).toEqual([0x61, 0xff, 0x62, 0x0a, 0xff]);
  });

  it('passes UTF-8 through untouched, invalid bytes included', async () => {
    const bytes = Buffer.from([0x61, 0xe9, 0x0a]);
    expect(await transcode([bytes], 'utf-8')).toEqual(bytes);
  });
});
