import path from 'node:path';
import { sha256Hex } from '../sha256.js';
import type { BlobStat, ListedBlob } from './backend.js';
import { walkItemsAndBlobs, type DigestVisitor } from './digest-merge.js';
import type { DigestRow, ItemEntry } from './index-db.js';
import { isDigest } from './layout.js';
import type { StrayEntry } from './scan.js';
import type { Store } from './store.js';
import { TotalsTally, typesOff, type TypeCounts } from './totals.js';

export interface VerifyProblem {
  kind: 'missing' | 'size' | 'hash' | 'bad-digest' | 'stray' | 'corrupt-blob' | 'totals';
  key: string | null;
  path: string | null;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  deep: boolean;
  items: number;
  blobs: number;
  orphanBlobs: number;
  orphanBytes: number;
  tempFiles: number;
  /** The problems found, up to LISTED_PROBLEMS of them (and every disagreement of the totals). */
  problems: VerifyProblem[];
  /** Problems found beyond those listed. */
  moreProblems: number;
}

/** A damaged store can have a problem per item: the first this many are listed, the rest counted. */
export const LISTED_PROBLEMS = 1000;

/**
 * Checks that every index row's value is there with its recorded size (deep: and its SHA-256),
 * and counts what nothing refers to. Orphans and temporary files are what a killed run may
 * leave; they are counted, not problems. Items and blob files are read once, side by side
 * (`walkItemsAndBlobs`): memory does not grow with the store.
 */
export async function verifyStore(store: Store, options: { deep?: boolean } = {}): Promise<VerifyReport> {
  const check = new StoreCheck(store, Boolean(options.deep));
  // One read transaction: the running totals compared and the keys of the rows found wrong are
  // of the items read.
  const running = await store.index.inReadTransactionAsync(async () => {
    await walkItemsAndBlobs(store, check);
    if (check.deep) check.hashInline(store.index.iterateInline());
    check.problems.findKeys(store);
    return store.index.runningTotals();
  });
  const { items, files } = check.problems.listed();
  const problems = [...items, ...totalsProblems(check.counted.types, running), ...files];
  const moreProblems = check.problems.found - items.length - files.length;
  return {
    ok: problems.length + moreProblems === 0,
    deep: check.deep,
    items: check.items,
    blobs: check.blobs,
    orphanBlobs: check.orphanBlobs,
    orphanBytes: check.orphanBytes,
    tempFiles: store.blobs.listTemp().length,
    problems,
    moreProblems,
  };
}

/** The checks of one verify, made as the walk reaches each item and file. */
class StoreCheck implements DigestVisitor {
  readonly counted = new TotalsTally();
  readonly problems = new ProblemList();
  items = 0;
  blobs = 0;
  orphanBlobs = 0;
  orphanBytes = 0;
  private readonly setAside: Set<string>;
  /** Names of what is under blobs/ and is not a blob file, met so far: where a missing blob may have a link in its place. */
  private readonly strayNames = new Set<string>();
  /** The `lstat` of the last digest's blob file: one per file, however many items share it. */
  private statted: { digest: string; stat: BlobStat | null } | null = null;

  constructor(
    private readonly store: Store,
    readonly deep: boolean,
  ) {
    this.setAside = store.blobs.setAsideDigests();
  }

  async item(row: DigestRow, file: ListedBlob | null): Promise<void> {
    this.items++;
    this.counted.add({ size: row.size, type: row.type, inline: row.inlineSize !== null });
    // A listed file has a digest for a name: no need to check the item's again.
    if (file === null && !isDigest(row.sha256)) {
      this.problems.addItem('bad-digest', row.rowid, null, 'recorded digest is not a SHA-256 hex string');
      return;
    }
    if (row.inlineSize !== null) {
      if (row.inlineSize !== row.size) this.problems.addItem('size', row.rowid, null, `inline value is ${row.inlineSize} bytes, recorded ${row.size}`);
      return;
    }
    const stat = file ? await this.statOf(file) : await this.unlistedStat(row.sha256);
    if (!stat) {
      const hint = this.setAside.has(row.sha256) ? ` (an interrupted gc left it in tmp/: 'bwrite gc' puts it back)` : '';
      this.problems.addItem('missing', row.rowid, row.sha256, `blob ${row.sha256} is missing${hint}`);
    } else if (!stat.isFile) this.problems.addItem('missing', row.rowid, row.sha256, `blob ${row.sha256} is not a regular file`);
    else if (stat.size !== row.size) this.problems.addItem('size', row.rowid, row.sha256, `blob ${row.sha256} is ${stat.size} bytes, recorded ${row.size}`);
  }

  /**
   * A digest the listing has no blob file for is missing, unless a stray took its name or its
   * fan-out directory's (a link): then `lstat` says what is there. The walk has passed any such
   * stray by now (the listing is read up to the first file past this digest).
   */
  private async unlistedStat(digest: string): Promise<BlobStat | null> {
    if (!this.strayNames.has(digest) && !this.strayNames.has(digest.slice(0, 2))) return null;
    return this.statOf({ digest });
  }

  async blob(file: ListedBlob, referenced: boolean): Promise<void> {
    const stat = await this.statOf(file);
    if (!stat) return;
    this.blobs++;
    if (!referenced) {
      this.orphanBlobs++;
      this.orphanBytes += stat.size;
    }
    if (this.deep && !(await this.hashesToName(file))) {
      this.problems.add({ kind: referenced ? 'hash' : 'corrupt-blob', key: null, path: file.path, message: `blob ${file.digest} does not hash to its name` });
    }
  }

  stray(entry: StrayEntry): void {
    this.strayNames.add(path.basename(entry.path));
    this.problems.add({ kind: 'stray', key: null, path: entry.path, message: `${entry.path}: ${entry.reason}` });
  }

  /** `--deep`: every inline value whose size is right hashes to its digest. */
  hashInline(entries: Iterable<ItemEntry>): void {
    for (const entry of entries) {
      if (!isDigest(entry.sha256) || entry.inline!.length !== entry.size) continue;
      if (sha256Hex(entry.inline!) !== entry.sha256) {
        this.problems.add({ kind: 'hash', key: entry.key, path: null, message: `key '${entry.key}': inline value does not hash to ${entry.sha256}` });
      }
    }
  }

  /** What the listing said of the blob, or else its stat. */
  private async statOf(file: { digest: string; stat?: BlobStat }): Promise<BlobStat | null> {
    const { digest } = file;
    if (this.statted?.digest !== digest) this.statted = { digest, stat: file.stat ?? (await this.store.blobs.stat(digest)) };
    return this.statted.stat;
  }

  /** Whether the file's bytes hash to its name; a file removed meanwhile (by a gc) is not judged. */
  private async hashesToName(file: ListedBlob): Promise<boolean> {
    try {
      return sha256Hex(await this.store.blobs.read(file.digest)) === file.digest;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw error;
    }
  }
}

/** An item's problem, listed by key: the key (by rowid) and the blob's path are looked up only for those listed. */
interface ItemProblem {
  kind: VerifyProblem['kind'];
  rowid: number;
  digest: string | null;
  detail: string;
}

/** Problems in the order found: the first LISTED_PROBLEMS are kept, the rest only counted. */
class ProblemList {
  found = 0;
  private readonly kept: (VerifyProblem | ItemProblem)[] = [];
  private resolved: { items: VerifyProblem[]; files: VerifyProblem[] } | null = null;

  add(problem: VerifyProblem): void {
    if (++this.found <= LISTED_PROBLEMS) this.kept.push(problem);
  }

  /** `digest`: of the blob file the problem is with, if any. */
  addItem(kind: VerifyProblem['kind'], rowid: number, digest: string | null, detail: string): void {
    if (++this.found <= LISTED_PROBLEMS) this.kept.push({ kind, rowid, digest, detail });
  }

  /** Names the key of each item problem kept; inside the read transaction the rows were read in. */
  findKeys(store: Store): void {
    const problems = this.kept.map((problem): VerifyProblem => {
      if (!('rowid' in problem)) return problem;
      const key = store.index.keyOfRow(problem.rowid) ?? '';
      const where = problem.digest === null ? null : store.blobs.locationOf(problem.digest);
      return { kind: problem.kind, key, path: where, message: `key '${key}': ${problem.detail}` };
    });
    // Items' problems by key, as a scan in key order listed them; those of files in the order found.
    const items = problems.filter((problem) => problem.key !== null).sort((a, b) => (a.key! < b.key! ? -1 : a.key! > b.key! ? 1 : 0));
    this.resolved = { items, files: problems.filter((problem) => problem.key === null) };
  }

  listed(): { items: VerifyProblem[]; files: VerifyProblem[] } {
    return this.resolved ?? { items: [], files: [] };
  }
}

/** Where the running totals `stats` shows disagree with the items counted. */
function totalsProblems(counted: Map<string, TypeCounts>, running: Map<string, TypeCounts>): VerifyProblem[] {
  return typesOff(counted, running).map(({ type, counted: want, running: have }) => ({
    kind: 'totals',
    key: null,
    path: null,
    message: `type '${type}': the totals stats shows say ${have.items} items of ${have.bytes} bytes (${have.inlineItems} inline), the index holds ${want.items} of ${want.bytes} (${want.inlineItems} inline); 'bwrite gc' counts them again`,
  }));
}
