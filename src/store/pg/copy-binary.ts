/** The column types a binary COPY of bwrite's rows sends. */
export type CopyColumn = 'text' | 'int8' | 'bytea';

export type CopyValue = string | number | Uint8Array | null;

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags (no OIDs) and header extension length. */
const HEADER_BYTES = SIGNATURE.length + 4 + 4;

/**
 * Rows in PostgreSQL's binary COPY format, in the bytes `allocate` gives (SyncBridge.copyArea:
 * memory the worker reads without a copy). Binary saves COPY's text form of a bytea (twice its
 * size in hex) and the server's parsing of it.
 */
export function copyBinary(columns: readonly CopyColumn[], rows: readonly (readonly CopyValue[])[], allocate: (size: number) => Uint8Array): Uint8Array {
  let size = HEADER_BYTES + 2 + rows.length * (2 + 4 * columns.length);
  for (const row of rows) {
    for (let i = 0; i < columns.length; i++) size += fieldBytes(columns[i]!, row[i] ?? null);
  }
  const area = allocate(size);
  const out = Buffer.from(area.buffer, area.byteOffset, size);
  // A DataView's setters, not Buffer's checked writes (nor a BigInt for each int8): a few calls per field of every row.
  const view = new DataView(area.buffer, area.byteOffset, size);
  let at = SIGNATURE.copy(out, 0);
  view.setInt32(at, 0); // flags
  view.setInt32(at + 4, 0); // header extension length
  at += 8;
  for (const row of rows) {
    view.setInt16(at, columns.length);
    at += 2;
    for (let i = 0; i < columns.length; i++) at = writeField(out, view, at, columns[i]!, row[i] ?? null);
  }
  view.setInt16(at, -1);
  return area;
}

function fieldBytes(column: CopyColumn, value: CopyValue): number {
  if (value === null) return 0;
  if (column === 'int8') return 8;
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : (value as Uint8Array).byteLength;
}

const TWO_32 = 2 ** 32;

function writeField(out: Buffer, view: DataView, at: number, column: CopyColumn, value: CopyValue): number {
  if (value === null) {
    view.setInt32(at, -1);
    return at + 4;
  }
  if (column === 'int8') {
    // bwrite's integers are safe integers: the high and low 32 bits of the 64.
    const high = Math.floor((value as number) / TWO_32);
    view.setInt32(at, 8);
    view.setInt32(at + 4, high);
    view.setUint32(at + 8, (value as number) - high * TWO_32);
    return at + 12;
  }
  if (typeof value === 'string') {
    const length = out.write(value, at + 4, 'utf8');
    view.setInt32(at, length);
    return at + 4 + length;
  }
  const bytes = value as Uint8Array;
  view.setInt32(at, bytes.byteLength);
  out.set(bytes, at + 4);
  return at + 4 + bytes.byteLength;
}
