// Every bwrite process the soak starts goes through here: a clean environment, its output kept,
// and its peak resident set read from /proc while it runs.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

const SAMPLE_EVERY_MS = 25;

/** The environment a user would have: no store or fault settings, no loader options, from the caller. */
function cleanEnv(extra) {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('BWRITE_') || name.startsWith('VITEST') || name === 'NODE_OPTIONS' || name === 'FORCE_COLOR' || name === 'NODE_EXTRA_CA_CERTS') delete env[name];
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/** The kernel's high-water mark of the process's resident set (VmHWM), in kB; null once it is gone. */
function peakRssKb(pid) {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The bwrite processes of one soak. `result` of each resolves with its exit, output, and the
 * highest VmHWM seen (sampled every few ms, so a very short peak just before exit can be missed).
 */
export class BwriteProcesses {
  constructor(bwrite, limitKb) {
    this.bwrite = bwrite;
    this.limitKb = limitKb;
    this.live = new Set();
    /** Per kind of command: the highest peak seen and the command line that reached it. */
    this.peaks = new Map();
    /** Every process whose peak passed the limit. */
    this.overLimit = [];
    this.timer = setInterval(() => this.sample(), SAMPLE_EVERY_MS);
  }

  /** Starts `bwrite ARGS`; it is killed (and marked `timedOut`) if it runs longer than `timeoutMs`. */
  start(kind, args, { env = {}, timeoutMs }) {
    // A process group of its own: a Ctrl-C meant for the soak must not reach gc or stats.
    const child = spawn(process.execPath, [this.bwrite, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const tracked = { kind, args, child, pid: child.pid, peakKb: 0, signalsSent: [], timedOut: false, startedAt: Date.now() };
    this.live.add(tracked);
    const stdout = [];
    const stderr = [];
    child.stdout.on('data', (chunk) => stdout.push(chunk));
    child.stderr.on('data', (chunk) => stderr.push(chunk));
    const timer = setTimeout(() => {
      tracked.timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    tracked.result = new Promise((resolve) => {
      child.on('error', (error) => stderr.push(Buffer.from(String(error))));
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.live.delete(tracked);
        this.note(tracked);
        const text = (chunks) => Buffer.concat(chunks).toString('utf8');
        resolve({ kind, args, code, signal, stdout: text(stdout), stderr: text(stderr), peakKb: tracked.peakKb, signalsSent: tracked.signalsSent, timedOut: tracked.timedOut, ms: Date.now() - tracked.startedAt });
      });
    });
    return tracked;
  }

  /** Sends `signal` if the process still runs; true when it was sent. */
  signal(tracked, signal) {
    if (!this.live.has(tracked) || tracked.child.exitCode !== null || tracked.child.signalCode !== null) return false;
    this.sampleOne(tracked);
    tracked.signalsSent.push(signal);
    return tracked.child.kill(signal);
  }

  sample() {
    for (const tracked of this.live) this.sampleOne(tracked);
  }

  sampleOne(tracked) {
    const kb = peakRssKb(tracked.pid);
    if (kb !== null && kb > tracked.peakKb) tracked.peakKb = kb;
  }

  note(tracked) {
    const best = this.peaks.get(tracked.kind);
    if (!best || tracked.peakKb > best.kb) this.peaks.set(tracked.kind, { kb: tracked.peakKb, args: tracked.args });
    if (tracked.peakKb > this.limitKb) this.overLimit.push({ kind: tracked.kind, kb: tracked.peakKb, args: tracked.args });
  }

  /** SIGKILL whatever still runs; resolves once all of it has exited. */
  async killAll() {
    const left = [...this.live];
    for (const tracked of left) tracked.child.kill('SIGKILL');
    await Promise.all(left.map((tracked) => tracked.result));
  }

  stop() {
    clearInterval(this.timer);
  }
}
