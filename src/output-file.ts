import fs from 'node:fs';
import path from 'node:path';

/**
 * How a command will write a file it is given: `replace` writes a temp file beside it and renames
 * it into place (its directory must exist); `append` opens it for appending, creating it and any
 * missing directories above it.
 */
export type OutputFileUse = 'replace' | 'append';

/**
 * Why `file` could not be written as `use` says, or null when it can: checked before a run, so a
 * typo is a usage error rather than a failure after the import. Creates nothing.
 */
export function outputFileProblem(file: string, use: OutputFileUse): string | null {
  const target = path.resolve(file);
  const existing = statOf(target);
  if ('code' in existing && existing.code !== 'ENOENT' && existing.code !== 'ENOTDIR') return `${target} cannot be reached (${existing.code})`;
  if ('stat' in existing && existing.stat.isDirectory()) return 'it is a directory';
  if ('stat' in existing && use === 'append') return writable(target, fs.constants.W_OK) ? null : 'the file is not writable';
  return directoryProblem(path.dirname(target), use === 'append');
}

// The directory that will hold the file, or (when missing ones are created) the nearest one that exists.
function directoryProblem(dir: string, createMissing: boolean): string | null {
  for (;;) {
    const found = statOf(dir);
    if ('code' in found) {
      const missing = found.code === 'ENOENT' || found.code === 'ENOTDIR';
      if (!missing) return `the directory ${dir} cannot be reached (${found.code})`;
      if (!createMissing) return `the directory ${dir} does not exist`;
      dir = path.dirname(dir);
      continue;
    }
    if (!found.stat.isDirectory()) return `${dir} is not a directory`;
    return writable(dir, fs.constants.W_OK | fs.constants.X_OK) ? null : `the directory ${dir} is not writable`;
  }
}

function statOf(file: string): { stat: fs.Stats } | { code: string } {
  try {
    return { stat: fs.statSync(file) };
  } catch (error) {
    return { code: (error as NodeJS.ErrnoException).code ?? 'EIO' };
  }
}

function writable(file: string, mode: number): boolean {
  try {
    fs.accessSync(file, mode);
    return true;
  } catch {
    return false;
  }
}
