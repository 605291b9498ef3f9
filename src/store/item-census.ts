import type { DigestRow } from './index-db.js';
import { TotalsTally, type TypeCounts, type ValueCount } from './totals.js';

/**
 * What gc and verify count as they read every item in digest order: items by type (to check the
 * running totals) and distinct values as `stats` counts them (COUNT_VALUES in totals.ts: grouped
 * by digest, a value some item keeps in a blob file counts as a blob), so that they can keep that
 * count for `stats` at no extra read.
 */
export class ItemCensus {
  readonly tally = new TotalsTally();
  items = 0;
  private blobs = 0;
  private inlineValues = 0;
  private storedBytes = 0;
  /** The digest being counted; a malformed one that is not text cannot be grouped as SQLite would. */
  private digest: unknown = undefined;
  private digestSize = 0;
  private digestInBlob = false;
  private groupable = true;

  add(row: DigestRow): void {
    const inline = row.inlineSize !== null;
    this.items++;
    this.tally.add({ size: row.size, type: row.type, inline });
    if (typeof row.sha256 !== 'string') this.groupable = false;
    if (row.sha256 === this.digest) {
      this.digestSize = Math.max(this.digestSize, row.size);
      this.digestInBlob ||= !inline;
      return;
    }
    this.countDigest();
    this.digest = row.sha256;
    this.digestSize = row.size;
    this.digestInBlob = !inline;
  }

  /** The distinct values of the items added, which all the items of `generation` were; null if they cannot be told apart. */
  valueCount(generation: number): ValueCount | null {
    if (!this.groupable) return null;
    this.countDigest();
    this.digest = undefined;
    return { generation, blobs: this.blobs, inlineValues: this.inlineValues, storedBytes: this.storedBytes };
  }

  private countDigest(): void {
    if (this.digest === undefined) return;
    if (this.digestInBlob) this.blobs++;
    else this.inlineValues++;
    this.storedBytes += this.digestSize;
  }
}

/** The types whose running totals (what `stats` shows) disagree with the items counted. */
export function typesOff(counted: Map<string, TypeCounts>, running: Map<string, TypeCounts>): { type: string; counted: TypeCounts; running: TypeCounts }[] {
  const none: TypeCounts = { items: 0, bytes: 0, inlineItems: 0 };
  const off = [];
  for (const type of new Set([...counted.keys(), ...running.keys()])) {
    const want = counted.get(type) ?? none;
    const have = running.get(type) ?? none;
    if (want.items !== have.items || want.bytes !== have.bytes || want.inlineItems !== have.inlineItems) off.push({ type, counted: want, running: have });
  }
  return off;
}
