/** The column types a binary COPY of bwrite's rows sends. */
export type CopyColumn = 'text' | 'int8' | 'bytea';

export type CopyValue = string | number | Uint8Array | null;

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags (no OIDs) and header extension length. */
const HEADER_BYTES = SIGNATURE.length + 4 + 4;

/**
 * Rows in PostgreSQL's binary COPY format, as one buffer of its own (not from Node's shared pool),
 * so that it can be handed to the worker without a copy. Binary saves COPY's text form of a bytea
 * (twice its size in hex) and the server's parsing of it.
 */
export function copyBinary(columns: readonly CopyColumn[], rows: readonly (readonly CopyValue[])[]): Uint8Array {
  let size = HEADER_BYTES + 2;
  for (const row of rows) {
    size += 2;
    for (let i = 0; i < columns.length; i++) size += 4 + fieldBytes(columns[i]!, row[i] ?? null);
  }
  const out = Buffer.from(new ArrayBuffer(size));
  let at = SIGNATURE.copy(out, 0);
  at = out.writeInt32BE(0, at);
  at = out.writeInt32BE(0, at);
  for (const row of rows) {
    at = out.writeInt16BE(columns.length, at);
    for (let i = 0; i < columns.length; i++) at = writeField(out, at, columns[i]!, row[i] ?? null);
  }
  out.writeInt16BE(-1, at);
  return out;
}

function fieldBytes(column: CopyColumn, value: CopyValue): number {
  if (value === null) return 0;
  if (column === 'int8') return 8;
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : (value as Uint8Array).byteLength;
}

function writeField(out: Buffer, at: number, column: CopyColumn, value: CopyValue): number {
  if (value === null) return out.writeInt32BE(-1, at);
  if (column === 'int8') {
    at = out.writeInt32BE(8, at);
    return out.writeBigInt64BE(BigInt(value as number), at);
  }
  if (typeof value === 'string') {
    const length = out.write(value, at + 4, 'utf8');
    out.writeInt32BE(length, at);
    return at + 4 + length;
  }
  const bytes = value as Uint8Array;
  out.writeInt32BE(bytes.byteLength, at);
  out.set(bytes, at + 4);
  return at + 4 + bytes.byteLength;
}
