import { keyProblem, MAX_KEY_BYTES } from '../store/keys.js';
import { decodeUtf8, readLines } from './line-reader.js';

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

/**
 * The keys of a key list (`delete --from`), up to `batchKeys` at a time, in bounded memory: one
 * key a line, exactly as written (spaces are part of a key). A line ends at LF; a CR before it is
 * the CRLF of a file written on Windows, not part of the key; an empty line is skipped, and so is
 * a UTF-8 byte-order mark at the start; the last line needs no line end. A line longer than a key
 * may be, not valid UTF-8 or holding a NUL is reported as not a key (no item can have it).
 */
export async function* readKeyLines(chunks: AsyncIterable<Buffer>, batchKeys: number): AsyncGenerator<KeyLines> {
  let batch: KeyLines = { keys: [], notKeys: [] };
  for await (const lines of readLines(chunks, MAX_KEY_BYTES)) {
    for (const { line, bytes, size } of lines) {
      if (size === 0) continue;
      const problem = bytes === null ? `the line is ${size} bytes long, longer than a key may be (${MAX_KEY_BYTES} bytes)` : lineProblem(bytes);
      if (typeof problem === 'string') batch.notKeys.push({ line, message: problem });
      else batch.keys.push(problem.key);
      if (batch.keys.length + batch.notKeys.length >= batchKeys) {
        yield batch;
        batch = { keys: [], notKeys: [] };
      }
    }
  }
  if (batch.keys.length + batch.notKeys.length > 0) yield batch;
}

function lineProblem(bytes: Buffer): string | { key: string } {
  const key = decodeUtf8(bytes);
  if (key === null) return 'the line is not valid UTF-8';
  const problem = keyProblem(key);
  return problem ? problem.message : { key };
}
