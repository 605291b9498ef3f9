// Runs one process and measures it from the outside: wall time from spawn to exit, and peak RSS
// (the kernel's maximum resident set, as GNU time reports it), whatever language the process is in.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const TIME = '/usr/bin/time';
let counter = 0;

export function canMeasureRss() {
  return fs.existsSync(TIME);
}

/** `{ wallMs, rssMb, stdout, stderr }`; throws with the process's stderr when it exits non-zero. */
export async function measure(cmd, args, options = {}) {
  const rssFile = path.join(os.tmpdir(), `bwrite-bench-${process.pid}-${++counter}.rss`);
  const [file, argv] = canMeasureRss() ? [TIME, ['-f', '%M', '-o', rssFile, cmd, ...args]] : [cmd, args];
  const start = performance.now();
  const child = spawn(file, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout = [];
  const stderr = [];
  child.stdout.on('data', (chunk) => stdout.push(chunk));
  child.stderr.on('data', (chunk) => stderr.push(chunk));
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, signal) => resolve(exitCode ?? signal));
  });
  const wallMs = performance.now() - start;
  const rssMb = readRss(rssFile);
  const result = { wallMs, rssMb, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
  if (code !== 0) {
    const error = new Error(`${path.basename(cmd)} ${args.join(' ')} exited with ${code}: ${result.stderr.trim().slice(-2000)}`);
    error.result = result;
    throw error;
  }
  return result;
}

function readRss(file) {
  try {
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    fs.rmSync(file, { force: true });
    const kb = Number(lines[lines.length - 1]);
    return Number.isFinite(kb) ? kb / 1024 : null;
  } catch {
    return null;
  }
}
