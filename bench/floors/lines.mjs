// The floors' and peers' reader: the lines of a file as Buffers, 1 MB reads, no copies except for
// a line that spans two reads. Shared so that every script pays the same for reading.
import fs from 'node:fs';

export async function* readLines(file) {
  let carry = null;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    let start = 0;
    let end;
    while ((end = chunk.indexOf(10, start)) !== -1) {
      const piece = chunk.subarray(start, end);
      if (carry) {
        yield Buffer.concat([carry, piece]);
        carry = null;
      } else if (piece.length > 0) yield piece;
      start = end + 1;
    }
    if (start < chunk.length) carry = carry ? Buffer.concat([carry, chunk.subarray(start)]) : chunk.subarray(start);
  }
  if (carry && carry.length > 0) yield carry;
}

/** The key the bwrite configurations use: the `id` field, or the line (`--key {$line}`). */
export function keyOf(record, line) {
  return typeof record.id === 'string' ? record.id : String(line);
}
