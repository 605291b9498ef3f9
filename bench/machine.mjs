// What the numbers were measured on, so that a table quoted in the README says so. Taken as the
// run starts, when the build is copied aside (tools.mjs).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { ROOT } from './tools.mjs';

export function describeMachine(outDir) {
  const run = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    fileSystem: run('findmnt', ['-no', 'FSTYPE', '-T', outDir]),
    commit: run('git', ['rev-parse', '--short', 'HEAD']),
    uncommittedChanges: Boolean(run('git', ['status', '--porcelain', '--', 'src'])),
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? 'default (4)',
  };
}
