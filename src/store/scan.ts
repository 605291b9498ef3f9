import fs from 'node:fs';
import path from 'node:path';
import { isDigest, type StoreLayout } from './layout.js';

export interface BlobFile {
  digest: string;
  path: string;
  size: number;
  mtimeMs: number;
}

export interface StrayEntry {
  path: string;
  reason: string;
}

/** Every blob file under `blobs/`, and whatever else is there that should not be. */
export function scanBlobs(layout: StoreLayout): { blobs: BlobFile[]; strays: StrayEntry[] } {
  const blobs: BlobFile[] = [];
  const strays: StrayEntry[] = [];
  for (const fan of readDir(layout.blobs)) {
    const fanPath = path.join(layout.blobs, fan.name);
    if (!fan.isDirectory() || !/^[0-9a-f]{2}$/.test(fan.name)) {
      strays.push({ path: fanPath, reason: fan.isSymbolicLink() ? 'a link where a fan-out directory belongs' : 'not a fan-out directory' });
      continue;
    }
    for (const entry of readDir(fanPath)) {
      const filePath = path.join(fanPath, entry.name);
      if (!entry.isFile() || !isDigest(entry.name) || !entry.name.startsWith(fan.name)) {
        strays.push({ path: filePath, reason: entry.isSymbolicLink() ? 'a link, not a blob' : 'not a blob name' });
        continue;
      }
      const stat = lstatOrNull(filePath);
      if (stat) blobs.push({ digest: entry.name, path: filePath, size: stat.size, mtimeMs: stat.mtimeMs });
    }
  }
  return { blobs, strays };
}

export interface TempFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export function scanTemp(layout: StoreLayout): TempFile[] {
  const files: TempFile[] = [];
  for (const entry of readDir(layout.tmp)) {
    const filePath = path.join(layout.tmp, entry.name);
    const stat = lstatOrNull(filePath);
    if (stat) files.push({ path: filePath, size: stat.size, mtimeMs: stat.mtimeMs });
  }
  return files;
}

function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function lstatOrNull(file: string): fs.Stats | null {
  try {
    return fs.lstatSync(file);
  } catch {
    return null;
  }
}
