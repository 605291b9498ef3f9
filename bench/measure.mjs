// Runs one process and measures it from the outside: wall time from spawn to exit, peak RSS (the
// kernel's maximum resident set) and CPU time (user + system, every thread), as GNU time reports
// them, whatever language the process is in.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const TIME = '/usr/bin/time';
let counter = 0;

export function hasGnuTime() {
  return fs.existsSync(TIME);
}

/**
 * `{ wallMs, rssMb, cpuMs, stdout, stderr }`; throws with the process's stderr when it exits with
 * another code than `options.exitCode` (default 0). `options.stdoutFile`: standard output goes to
 * that file instead of into memory (for commands that print gigabytes).
 */
export async function measure(cmd, args, options = {}) {
  const timeFile = path.join(os.tmpdir(), `bwrite-bench-${process.pid}-${++counter}.time`);
  const [file, argv] = hasGnuTime() ? [TIME, ['-f', '%M %U %S', '-o', timeFile, cmd, ...args]] : [cmd, args];
  const out = options.stdoutFile ? fs.openSync(options.stdoutFile, 'w') : 'pipe';
  const start = performance.now();
  const child = spawn(file, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', out, 'pipe'] });
  if (typeof out === 'number') fs.closeSync(out);
  const stdout = [];
  const stderr = [];
  child.stdout?.on('data', (chunk) => stdout.push(chunk));
  child.stderr.on('data', (chunk) => stderr.push(chunk));
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, signal) => resolve(exitCode ?? signal));
  });
  const wallMs = performance.now() - start;
  const { rssMb, cpuMs } = readTime(timeFile);
  const result = { wallMs, rssMb, cpuMs, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
  if (code !== (options.exitCode ?? 0)) {
    const error = new Error(`${path.basename(cmd)} ${args.join(' ')} exited with ${code}: ${result.stderr.trim().slice(-2000)}`);
    error.result = result;
    error.exitCode = code;
    throw error;
  }
  return result;
}

/** GNU time's last line (a failed command's status line comes before it): `KB USER SYS`. */
function readTime(file) {
  try {
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    fs.rmSync(file, { force: true });
    const [kb, user, sys] = lines[lines.length - 1].split(' ').map(Number);
    return { rssMb: Number.isFinite(kb) ? kb / 1024 : null, cpuMs: Number.isFinite(user + sys) ? (user + sys) * 1000 : null };
  } catch {
    return { rssMb: null, cpuMs: null };
  }
}
