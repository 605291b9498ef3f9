// Where the programs the bench runs live, and which of the optional ones this machine has.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.dirname(BENCH_DIR);
export const BWRITE = path.join(ROOT, 'bin', 'bwrite');
export const NODE = process.execPath;

/** The full path of `name` on PATH, or null. */
export function which(name) {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

let bwriteBin = BWRITE;

/**
 * Copies bin/, dist/ and package.json aside and runs bwrite from there for the rest of the run:
 * a build during a run (tests, an editor's watcher) would otherwise change what is measured.
 */
export function useBuildSnapshot(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const part of ['bin', 'dist', 'package.json']) fs.cpSync(path.join(ROOT, part), path.join(dir, part), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  bwriteBin = path.join(dir, 'bin', 'bwrite');
}

/** One bwrite command line, through a bin/bwrite as a user runs it. */
export function bwriteCommand(...args) {
  return { cmd: NODE, args: [bwriteBin, ...args] };
}
