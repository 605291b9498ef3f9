import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { BwriteError } from '../errors.js';
import { BATCH_MAX_BYTES, type BlobBackend, type BlobStat } from './backend.js';
import { blobPath, DIR_MODE, FILE_MODE, type StoreLayout } from './layout.js';
import { listBlobFiles, scanTemp, statOf, type BlobName, type StrayEntry, type TempFile } from './scan.js';
import { removeAside, restoreSetAside, setAsideDigests } from './set-aside.js';

const { O_CREAT, O_EXCL, O_WRONLY, O_RDONLY, O_NOFOLLOW } = fs.constants;
const RECENT_LIMIT = 65_536;

/**
 * Values up to this size (what bwrite keeps inline by default) are written to their files with
 * synchronous calls, one after another; larger ones asynchronously, up to --concurrency at once.
 * Each asynchronous call is a hand-off to libuv's thread pool and back, and on a small VM the
 * thread wake-ups cost more than copying a small file's bytes. For large values, copying outweighs
 * the hand-offs, and asynchronous writes overlap with reading (figures in bench/PERFORMANCE.md,
 * Measured design choices).
 */
export const SYNC_WRITE_MAX = 16 * 1024;

/**
 * Content-addressed files under `blobs/`: written to `tmp/` and renamed into place, so a reader
 * or a crash never sees a half-written blob. Writing the same digest twice is harmless.
 */
export class BlobStore implements BlobBackend {
  readonly location = 'local';
  readonly removesUnderLock = false;
  readonly batchMaxBytes = BATCH_MAX_BYTES;
  private readonly layout: StoreLayout;
  private readonly durable: boolean;
  /** With --durable: one syncfs(2) of the store's file system per batch, where `sync -f` has it. */
  private readonly syncWholeFs: boolean;
  /** With --durable where syncfs is missing: every blob file is fsynced as it is written. */
  private readonly fsyncEach: boolean;
  private readonly fanoutReady = new Set<string>();
  private readonly dirtyDirs = new Set<string>();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Digests this process wrote or refreshed lately, with when (ms, taken before the write). */
  private recent = new Map<string, number>();
  private tmpCounter = 0;

  constructor(layout: StoreLayout, options: { durable?: boolean } = {}) {
    this.layout = layout;
    this.durable = options.durable ?? false;
    this.syncWholeFs = this.durable && syncfsWorks(layout.root);
    this.fsyncEach = this.durable && !this.syncWholeFs;
  }

  pathOf(digest: string): string {
    return blobPath(this.layout, digest);
  }

  /**
   * Puts `bytes` under `digest` (the caller hashed them); coalesces concurrent writes of one digest.
   * The blob ends up with an mtime no earlier than `freshSince`, which is what keeps `gc` from
   * removing it before its row commits (rule 3 in store.ts): one this process wrote before that
   * is refreshed, not skipped. (Without `freshSince`, the blob is always written or refreshed.)
   */
  async write(digest: string, bytes: Uint8Array, freshSince = Infinity): Promise<void> {
    const pending = this.inFlight.get(digest);
    if (pending) await pending;
    const last = this.recent.get(digest);
    if (last === undefined) return this.put(digest, bytes);
    if (last < freshSince) return this.refresh(digest, bytes);
  }

  /**
   * Sets a blob's mtime to now, or writes it again if it is gone (a gc removed it) or is not a
   * plain file. Opened without following links, so a link planted in blobs/ is replaced, never
   * touched through.
   */
  async refresh(digest: string, bytes: Uint8Array): Promise<void> {
    let fd: number;
    try {
      fd = fs.openSync(this.pathOf(digest), O_RDONLY | O_NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ELOOP') throw error;
      this.recent.delete(digest);
      return this.put(digest, bytes);
    }
    const now = Date.now();
    try {
      fs.futimesSync(fd, now / 1000, now / 1000);
    } finally {
      fs.closeSync(fd);
    }
    this.remember(digest, now);
  }

  private async put(digest: string, bytes: Uint8Array): Promise<void> {
    const started = Date.now();
    if (bytes.length <= SYNC_WRITE_MAX && !this.fsyncEach) {
      this.writeNow(digest, bytes);
    } else {
      const write = this.writeFresh(digest, bytes).finally(() => this.inFlight.delete(digest));
      this.inFlight.set(digest, write);
      await write;
    }
    this.remember(digest, started);
  }

  private remember(digest: string, at: number): void {
    if (this.recent.size >= RECENT_LIMIT) this.recent = new Map();
    this.recent.set(digest, at);
  }

  /** A small value: the same steps as writeFresh, without leaving this thread (see SYNC_WRITE_MAX). */
  private writeNow(digest: string, bytes: Uint8Array): void {
    const { tmpPath, finalPath, dir } = this.placesFor(digest);
    const fd = fs.openSync(tmpPath, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, FILE_MODE);
    try {
      try {
        fs.writeFileSync(fd, bytes);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmpPath, finalPath);
    } catch (error) {
      // As in writeFresh: a failed clean-up must not hide the error that decides the retry.
      try {
        fs.rmSync(tmpPath, { force: true });
      } catch {
        // gc removes what is left in tmp/.
      }
      throw error;
    }
    if (this.durable) this.dirtyDirs.add(dir);
  }

  private async writeFresh(digest: string, bytes: Uint8Array): Promise<void> {
    const { tmpPath, finalPath, dir } = this.placesFor(digest);
    const handle = await fs.promises.open(tmpPath, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, FILE_MODE);
    try {
      try {
        await handle.writeFile(bytes);
        if (this.fsyncEach) await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.promises.rename(tmpPath, finalPath);
    } catch (error) {
      await fs.promises.rm(tmpPath, { force: true }).catch(() => {});
      throw error;
    }
    if (this.durable) this.dirtyDirs.add(dir);
  }

  /** Where a blob goes, and the temporary file it is written to first; makes its fan-out directory. */
  private placesFor(digest: string): { tmpPath: string; finalPath: string; dir: string } {
    const finalPath = this.pathOf(digest);
    const dir = path.dirname(finalPath);
    this.ensureFanout(dir);
    return { tmpPath: path.join(this.layout.tmp, `${digest.slice(0, 16)}.${process.pid}.${++this.tmpCounter}.tmp`), finalPath, dir };
  }

  /**
   * With `--durable`: makes every blob written so far, and its rename, survive a power cut —
   * by one syncfs of the file system (measured cheaper than an fsync per file), or else by
   * fsyncing the directories the blobs were renamed into (each blob was fsynced when written).
   */
  async flushDirectories(): Promise<void> {
    if (!this.durable || this.dirtyDirs.size === 0) return;
    if (this.syncWholeFs) {
      this.dirtyDirs.clear();
      await execFileAsync('sync', ['-f', this.layout.root]);
      return;
    }
    const dirs = [...this.dirtyDirs];
    this.dirtyDirs.clear();
    await Promise.all(dirs.map((dir) => fsyncDir(dir)));
  }

  /** Reads a blob without following a link planted in its place. */
  async read(digest: string): Promise<Buffer> {
    const handle = await fs.promises.open(this.pathOf(digest), O_RDONLY | O_NOFOLLOW);
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  locationOf(digest: string): string {
    return this.pathOf(digest);
  }

  /**
   * The blob file's `lstat`: a link or directory in its place is not a file. Synchronous, like the
   * listing, as one `lstat` costs less than a hand-off to the thread pool.
   */
  async stat(digest: string): Promise<BlobStat | null> {
    const stat = statOf(this.pathOf(digest));
    return stat && { size: stat.size, mtimeMs: stat.mtimeMs, isFile: stat.isFile() };
  }

  async *list(): AsyncGenerator<BlobName | StrayEntry> {
    yield* listBlobFiles(this.layout);
  }

  async remove(blobs: readonly BlobName[], cutoff: number): Promise<number> {
    let removed = 0;
    for (const blob of blobs) if (removeAside(this.layout, blob.path, cutoff)) removed++;
    return removed;
  }

  restoreSetAside(): number {
    return restoreSetAside(this.layout);
  }

  setAsideDigests(): Set<string> {
    return setAsideDigests(this.layout);
  }

  listTemp(): TempFile[] {
    return scanTemp(this.layout);
  }

  removeTemp(file: TempFile): void {
    fs.rmSync(file.path, { force: true });
  }

  private ensureFanout(dir: string): void {
    if (this.fanoutReady.has(dir)) return;
    fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    if (!fs.lstatSync(dir).isDirectory()) {
      throw new BwriteError('ENOTDIR', `${dir} is not a directory (a link or a file is in its place); remove it and run 'bwrite verify'`);
    }
    this.fanoutReady.add(dir);
    if (this.durable) this.dirtyDirs.add(path.dirname(dir));
  }
}

const execFileAsync = promisify(execFile);

function syncfsWorks(root: string): boolean {
  if (process.platform !== 'linux') return false;
  try {
    execFileSync('sync', ['-f', root], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
