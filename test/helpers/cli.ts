// Run the real bwrite CLI as a child process, in throwaway directories.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, onTestFinished } from 'vitest';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const binPath = join(repoRoot, 'bin', 'bwrite');
export const fixturesDir = join(repoRoot, 'fixtures');

export function fixture(name: string): string {
  return join(fixturesDir, name);
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  timeoutMs?: number;
  /** Run through `sh -c 'umask U; exec node bin/bwrite ...'` (arguments are passed as "$@", never interpolated). */
  umask?: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningBwrite {
  child: ChildProcess;
  /** Everything written to stdout/stderr so far. */
  output(): { stdout: string; stderr: string };
  result: Promise<RunResult>;
}

/**
 * The environment a user would have: no store or fault settings leaking in from the test runner.
 * NODE_EXTRA_CA_CERTS goes too: node reads and parses that certificate bundle as it starts, and
 * bwrite opens no network connection. Where it is set, it costs about 45 ms of CPU per process:
 * on a 2-core machine that sets it, the suite's ~880 processes took a whole run 311 s with it and
 * 266 s without (one run each, vitest's own clock).
 */
function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('BWRITE_') || name.startsWith('VITEST') || name === 'NODE_OPTIONS' || name === 'FORCE_COLOR' || name === 'NODE_EXTRA_CA_CERTS') {
      delete env[name];
    }
  }
  env.NO_COLOR = '1';
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Start bin/bwrite and keep its stdin open unless `input` is given (then it is written and closed). */
export function startBwrite(args: string[], opts: RunOptions & { keepStdinOpen?: boolean } = {}): RunningBwrite {
  if (opts.umask === undefined) return startCommand(process.execPath, [binPath, ...args], opts);
  if (!/^[0-7]{3,4}$/.test(opts.umask)) throw new Error(`bad umask ${opts.umask}`);
  return startCommand('/bin/sh', ['-c', `umask ${opts.umask}; exec "$0" "$@"`, process.execPath, binPath, ...args], opts);
}

/** Start any command with the clean environment, collecting its output; never through a shell. */
export function startCommand(command: string, argv: string[], opts: RunOptions & { keepStdinOpen?: boolean } = {}): RunningBwrite {
  const timeoutMs = opts.timeoutMs ?? 45_000;
  const child = spawn(command, argv, {
    cwd: opts.cwd ?? repoRoot,
    env: childEnv(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
  // The child may exit without reading its stdin; that is not the test's failure.
  child.stdin!.on('error', () => {});
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else if (!opts.keepStdinOpen) child.stdin!.end();

  const result = new Promise<RunResult>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${argv.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${Buffer.concat(out).toString()}\nstderr: ${Buffer.concat(err).toString()}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
  return {
    child,
    output: () => ({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    result,
  };
}

/** Run bin/bwrite to completion; never through a shell unless a umask is asked for. */
export function runBwrite(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return startBwrite(args, opts).result;
}

const fileScopedDirs: string[] = [];
afterAll(async () => {
  await Promise.all(fileScopedDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/**
 * A fresh directory under the OS temp dir. Made inside a test, it is removed when that test
 * finishes; made in a beforeAll/describe, it is removed after the file's tests.
 */
export async function tempDir(prefix = 'bwrite-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    onTestFinished(cleanup);
  } catch {
    fileScopedDirs.push(dir);
  }
  return dir;
}

/** Write a file (creating parent directories) and return its path. */
export async function writeText(path: string, content: string | Buffer): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  return path;
}

/** Write gzip-compressed content and return the path. */
export async function writeGzip(path: string, content: string | Buffer): Promise<string> {
  return writeText(path, gzipSync(typeof content === 'string' ? Buffer.from(content, 'utf8') : content));
}

export function gzip(content: string | Buffer): Buffer {
  return gzipSync(typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
}

/** N compact NDJSON records (one per line, each ending in "\n"); `make(i)` builds record i (0-based). */
export function ndjson<T extends object>(n: number, make: (i: number) => T): string {
  let text = '';
  for (let i = 0; i < n; i++) text += JSON.stringify(make(i)) + '\n';
  return text;
}

/** Lines of text (without terminators, trailing empty line dropped). */
export function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
