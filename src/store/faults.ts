import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BwriteError } from '../errors.js';

/** Where a fault can be injected: one attempt to write a value, or one attempt to commit a batch. */
export type FaultPoint = 'blob' | 'index';

interface FaultRule {
  point: FaultPoint;
  code: string;
  rate: number;
}

/**
 * Makes bwrite act as if the disk or database failed (`BWRITE_FAULTS`), so tests can prove the
 * error rules. Repeatable with `BWRITE_FAULTS_SEED`.
 */
export class FaultInjector {
  private readonly rules: FaultRule[];
  private readonly random: () => number;
  /** `BWRITE_FAULTS_PAUSE`: the file whose creation lets the run's first commit go on. */
  private pauseFile: string | null;

  constructor(rules: FaultRule[], seed: number, pauseFile: string | null = null) {
    this.rules = rules;
    this.random = mulberry32(seed);
    this.pauseFile = pauseFile;
  }

  static none(): FaultInjector {
    return new FaultInjector([], 0);
  }

  /** Parses `POINT:CODE:RATE,...`; throws a usage error for anything else. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): FaultInjector {
    const spec = env.BWRITE_FAULTS?.trim();
    const pauseFile = env.BWRITE_FAULTS_PAUSE || null;
    if (!spec) return new FaultInjector([], 0, pauseFile);
    const rules = spec.split(',').map((part) => parseRule(part.trim()));
    const seedText = env.BWRITE_FAULTS_SEED;
    const seed = seedText === undefined || seedText === '' ? (Math.random() * 2 ** 32) >>> 0 : Number(seedText);
    if (!Number.isInteger(seed)) {
      throw new BwriteError('E_USAGE', `BWRITE_FAULTS_SEED must be an integer, got '${seedText}'`);
    }
    return new FaultInjector(rules, seed >>> 0, pauseFile);
  }

  /**
   * With `BWRITE_FAULTS_PAUSE=FILE`, the run's first commit waits, its blobs written, until FILE
   * exists (it creates `FILE.waiting` to say so): a test puts another process's work, such as a
   * gc, exactly between a batch's blobs and its rows.
   */
  async pauseBeforeCommit(): Promise<void> {
    const file = this.pauseFile;
    if (!file) return;
    this.pauseFile = null;
    fs.writeFileSync(`${file}.waiting`, '');
    while (!fs.existsSync(file)) await sleep(20);
  }

  /** With `BWRITE_FAULTS_GC=die-after-removal`, gc dies (SIGKILL) once it has removed objects, before it records it. */
  afterRemoval(): void {
    if (process.env.BWRITE_FAULTS_GC === 'die-after-removal') process.kill(process.pid, 'SIGKILL');
  }

  get active(): boolean {
    return this.rules.length > 0;
  }

  /** Whether a rule may fail attempts at `point`. */
  covers(point: FaultPoint): boolean {
    return this.rules.some((rule) => rule.point === point);
  }

  /** Throws the injected error when the dice say this attempt at `point` fails. */
  check(point: FaultPoint): void {
    for (const rule of this.rules) {
      if (rule.point === point && this.random() < rule.rate) {
        throw injectedError(rule);
      }
    }
  }
}

function parseRule(part: string): FaultRule {
  const [point, code, rateText, ...rest] = part.split(':');
  const rate = Number(rateText);
  if (rest.length > 0 || (point !== 'blob' && point !== 'index') || !code || !/^[A-Z][A-Z0-9_]*$/.test(code) || rateText === undefined || rateText === '' || !(rate >= 0 && rate <= 1)) {
    throw new BwriteError('E_USAGE', `BWRITE_FAULTS: '${part}' is not POINT:CODE:RATE (POINT blob or index, CODE like EAGAIN or SQLITE_BUSY, RATE from 0 to 1)`);
  }
  return { point, code, rate };
}

function injectedError(rule: FaultRule): Error {
  const error = new Error(`injected ${rule.code} fault at ${rule.point} (BWRITE_FAULTS)`) as Error & { code: string };
  error.code = rule.code;
  return error;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
