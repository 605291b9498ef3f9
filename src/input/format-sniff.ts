import fs from 'node:fs';

/** How far into an input its first line is looked for; a first value longer than this is JSON text. */
const SNIFF_BYTES = 1024 * 1024;

/**
 * JSON text or NDJSON, from an input's first bytes (null: not enough of them yet). Whatever
 * opens with `[` is one JSON array. A `.json` file (`named`) is NDJSON when its first line holds
 * one whole JSON value, as NDJSON files named .json do; otherwise (a pretty-printed or
 * concatenated object) JSON text. Standard input that does not open with `[` is NDJSON.
 */
export function formatOfHead(head: Buffer, named: boolean, complete: boolean): 'json' | 'ndjson' | null {
  let at = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (at < head.length && (head[at] === 0x20 || head[at] === 0x0a || head[at] === 0x0d || head[at] === 0x09)) at++;
  if (at === head.length) return complete ? 'ndjson' : null;
  if (head[at] === 0x5b /* [ */) return 'json';
  if (!named) return 'ndjson';
  const newline = head.indexOf(0x0a, at);
  if (newline === -1 && !complete) return head.length >= SNIFF_BYTES ? 'json' : null;
  return isOneValue(head.subarray(at, newline === -1 ? head.length : newline)) ? 'ndjson' : 'json';
}

function isOneValue(line: Buffer): boolean {
  try {
    JSON.parse(line.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** The format of a plain `.json` file, from its first bytes read directly. */
export async function sniffFile(file: string): Promise<'json' | 'ndjson'> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fd.read(head, 0, SNIFF_BYTES, 0);
    return formatOfHead(head.subarray(0, bytesRead), true, bytesRead < SNIFF_BYTES) ?? 'json';
  } finally {
    await fd.close();
  }
}

/**
 * The format of a stream that cannot be read twice (standard input, gzip), from the chunks it
 * starts with, and the same chunks to read from the start.
 */
export async function sniffStream(chunks: AsyncIterable<Buffer>, named: boolean): Promise<{ format: 'json' | 'ndjson'; chunks: AsyncIterable<Buffer> }> {
  const iterator = chunks[Symbol.asyncIterator]();
  const held: Buffer[] = [];
  let format: 'json' | 'ndjson' | null = null;
  while (format === null) {
    const next = await iterator.next();
    if (next.done) {
      format = formatOfHead(Buffer.concat(held), named, true) ?? 'ndjson';
      break;
    }
    held.push(next.value);
    format = formatOfHead(held.length === 1 ? next.value : Buffer.concat(held), named, false);
    // A source may read into a chunk's memory again once the next one is asked for.
    if (format === null) held[held.length - 1] = Buffer.from(next.value);
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield* held;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { format, chunks: replay() };
}
