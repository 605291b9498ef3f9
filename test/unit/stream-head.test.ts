import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StreamHead } from '../../src/input/stream-head.js';

async function* chunksOf(parts: string[], failure?: Error): AsyncGenerator<Buffer> {
  for (const part of parts) yield Buffer.from(part);
  if (failure) throw failure;
}

async function drain(head: StreamHead): Promise<{ chunks: string[]; error: unknown }> {
  const chunks: string[] = [];
  try {
    for await (const chunk of head.chunks()) chunks.push(chunk.toString());
    return { chunks, error: null };
  } catch (error) {
    return { chunks, error };
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('StreamHead', () => {
  it('hands the reader every chunk as it came, the ones read ahead first', async () => {
    const head = new StreamHead(chunksOf(['ab', 'cd', 'ef', 'gh']), 16);

    expect((await head.read(3))?.toString()).toBe('abc');
    expect(await drain(head)).toEqual({ chunks: ['ab', 'cd', 'ef', 'gh'], error: null });
  });

  it('reads ahead no further than the stream goes, and no further than it keeps', async () => {
    expect((await new StreamHead(chunksOf(['ab', 'c']), 16).read(10))?.toString()).toBe('abc');
    expect((await new StreamHead(chunksOf(['abcdef']), 4).read(10))?.toString()).toBe('abcd');
  });

  it('keeps a read error for the reader, after the chunks read before it', async () => {
    const head = new StreamHead(chunksOf(['ab'], new Error('damaged')), 16);

    expect((await head.read(8))?.toString()).toBe('ab');
    const { chunks, error } = await drain(head);
    expect(chunks).toEqual(['ab']);
    expect((error as Error).message).toBe('damaged');
  });

  it('fingerprints no more than was committed, and no more than it keeps', async () => {
    const head = new StreamHead(chunksOf(['line 1\n', 'line 2\n', 'line 3 still being wri']), 10);
    await drain(head);

    expect(head.fingerprint(7)).toEqual({ fingerprint: sha256('line 1\n'), fingerprintLen: 7 });
    expect(head.fingerprint(14)).toEqual({ fingerprint: sha256('line 1\nlin'), fingerprintLen: 10 });
  });

  it('gives null when the signal aborts while it waits for more of the stream', async () => {
    async function* silent(): AsyncGenerator<Buffer> {
      yield Buffer.from('ab');
      await new Promise(() => {});
    }
    const controller = new AbortController();
    const read = new StreamHead(silent(), 16).read(8, controller.signal);
    controller.abort();

    expect(await read).toBeNull();
  });
});
