import { keyProblem, MAX_KEY_BYTES } from '../store/keys.js';
import { decodeUtf8 } from './line-reader.js';
import { CR, LF } from './bytes.js';

/** A line of a key list that cannot be a stored key, with why. */
export interface NotAKey {
  line: number;
  message: string;
}

/** A run of keys read from a key list, and the lines among them that are not keys. */
export interface KeyLines {
  keys: string[];
  notKeys: NotAKey[];
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * The keys of a key list (`delete --from`), up to `batchKeys` at a time, in bounded memory: one
 * key a line, exactly as written (spaces are part of a key). A line ends at LF; a CR before it is
 * the CRLF of a file written on Windows, not part of the key; an empty line is skipped, and so is
 * a UTF-8 byte-order mark at the start; the last line needs no line end. A line longer than a key
 * may be, not valid UTF-8 or holding a NUL is reported as not a key (no item can have it).
 * Each line is decoded as it is found, not gathered with the rest of its chunk first (what
 * `readLines` does for records): a chunk holds tens of thousands of short keys.
 */
export async function* readKeyLines(chunks: AsyncIterable<Buffer>, batchKeys: number): AsyncGenerator<KeyLines> {
  const list = new KeyList(batchKeys);
  let first = true;
  for await (let chunk of chunks) {
    if (first && chunk.length >= BOM.length && chunk.subarray(0, BOM.length).equals(BOM)) chunk = chunk.subarray(BOM.length);
    first = false;
    let start = 0;
    for (let end = chunk.indexOf(LF); end !== -1; start = end + 1, end = chunk.indexOf(LF, start)) {
      list.end(chunk.subarray(start, end));
      if (list.full()) yield list.take();
    }
    list.carry(chunk.subarray(start));
  }
  list.end(Buffer.alloc(0), true);
  if (!list.empty()) yield list.take();
}

/** The key list's state between chunks: the line begun, the line number, the batch gathered. */
class KeyList {
  private line = 0;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private batch: KeyLines = { keys: [], notKeys: [] };

  constructor(private readonly batchKeys: number) {}

  /** Keeps the start of a line the next chunk ends; past the longest key, only its length. */
  carry(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.partialBytes + bytes.length <= MAX_KEY_BYTES + 1) this.partial.push(Buffer.from(bytes));
    else this.partial = [];
    this.partialBytes += bytes.length;
  }

  /** A line ends with `bytes` (at the end of input, `last`: only if a line was begun). */
  end(bytes: Buffer, last = false): void {
    if (last && this.partialBytes === 0) return;
    this.line++;
    const size = this.partialBytes + bytes.length;
    const whole = this.partialBytes === 0 ? bytes : size <= MAX_KEY_BYTES + 1 ? Buffer.concat([...this.partial, bytes]) : null;
    this.partial = [];
    this.partialBytes = 0;
    const text = whole && whole.length > 0 && whole[whole.length - 1] === CR ? whole.subarray(0, whole.length - 1) : whole;
    const length = text ? text.length : size;
    if (length === 0) return;
    if (!text || length > MAX_KEY_BYTES) return this.notAKey(`the line is ${length} bytes long, longer than a key may be (${MAX_KEY_BYTES} bytes)`);
    const key = decodeUtf8(text);
    if (key === null) return this.notAKey('the line is not valid UTF-8');
    const problem = keyProblem(key);
    if (problem) return this.notAKey(problem.message);
    this.batch.keys.push(key);
  }

  full(): boolean {
    return this.batch.keys.length + this.batch.notKeys.length >= this.batchKeys;
  }

  empty(): boolean {
    return this.batch.keys.length + this.batch.notKeys.length === 0;
  }

  take(): KeyLines {
    const batch = this.batch;
    this.batch = { keys: [], notKeys: [] };
    return batch;
  }

  private notAKey(message: string): void {
    this.batch.notKeys.push({ line: this.line, message });
  }
}
