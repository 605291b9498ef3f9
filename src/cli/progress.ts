import type { InputSource } from '../input/source.js';
import type { BatchWriter } from '../pipeline/batch-writer.js';
import type { RunCounters } from '../pipeline/import-run.js';
import { formatBytes, formatCount } from './format.js';
import type { Output } from './output.js';

export type ProgressMode = 'auto' | 'bar' | 'log' | 'none';

export interface Progress {
  update(counters: RunCounters): void;
  stop(): void;
}

const LOG_INTERVAL_MS = Number(process.env.BWRITE_PROGRESS_INTERVAL_MS) || 5000;
const BAR_INTERVAL_MS = 200;

/** What the bar measures: bytes gone through, of how many (null: unknown). An import's inputs; a copy's source. */
export type Progressed = Pick<InputSource, 'bytesRead' | 'size'>;

type Context = () => { sources: readonly Progressed[]; writer: Pick<BatchWriter, 'stats'> | null };

function resolveMode(mode: ProgressMode, output: Output): Exclude<ProgressMode, 'auto'> {
  return mode === 'auto' ? (output.stderrIsTTY ? 'bar' : 'none') : mode;
}

/** A spinner while the store opens and the inputs are inspected; only where a bar would be drawn. */
// ora and cli-progress are loaded only when a terminal will show them: cron runs never pay for them.
export async function startSpinner(mode: ProgressMode, output: Output, text: string): Promise<{ stop: () => void }> {
  if (resolveMode(mode, output) !== 'bar' || !output.stderrIsTTY) return { stop() {} };
  const { default: ora } = await import('ora');
  const spinner = ora({ text, stream: process.stderr, color: process.env.NO_COLOR ? false : 'cyan', discardStdin: false }).start();
  return { stop: () => spinner.stop() };
}

/** A bar on a terminal, a plain line every few seconds for logs, or nothing. Always on stderr. */
export async function startProgress(mode: ProgressMode, output: Output, context: Context): Promise<Progress> {
  const resolved = resolveMode(mode, output);
  if (resolved === 'log') return logProgress(output, context);
  if (resolved === 'bar') return barProgress(context, (await import('cli-progress')).default);
  return { update() {}, stop() {} };
}

function totals(context: Context): { bytesRead: number; size: number | null } {
  const { sources } = context();
  let bytesRead = 0;
  let size: number | null = 0;
  for (const source of sources) {
    bytesRead += source.bytesRead;
    size = source.size === null || size === null ? null : size + source.size;
  }
  return { bytesRead, size };
}

function logProgress(output: Output, context: Context): Progress {
  const started = Date.now();
  let latest: RunCounters = { read: 0, written: 0, skipped: 0, failed: 0 };
  const timer = setInterval(() => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round((latest.written + latest.skipped + latest.failed) / seconds) : 0;
    const { bytesRead, size } = totals(context);
    const share = size ? ` (${Math.min(100, (100 * bytesRead) / size).toFixed(1)} %)` : '';
    output.error(`${new Date().toISOString()} bwrite: read ${formatCount(latest.read)}, written ${formatCount(latest.written)}, failed ${formatCount(latest.failed)}, ${formatCount(rate)} items/s, ${formatBytes(bytesRead)} read${share}`);
  }, LOG_INTERVAL_MS);
  timer.unref();
  return {
    update(counters) {
      latest = counters;
    },
    stop() {
      clearInterval(timer);
    },
  };
}

function barProgress(context: Context, cliProgress: typeof import('cli-progress')): Progress {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{bar} {percentage}% | {bytes} | {read} read | {rate} items/s | {failed} failed | {inflight} in flight | ETA {eta_formatted}',
      barsize: 20,
      hideCursor: true,
      clearOnComplete: true,
      fps: 1000 / BAR_INTERVAL_MS,
      noTTYOutput: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let last = 0;
  bar.start(1, 0, { bytes: formatBytes(0), read: '0', rate: '0', failed: '0', inflight: '0' });
  return {
    update(counters) {
      const now = Date.now();
      if (now - last < BAR_INTERVAL_MS) return;
      last = now;
      const { bytesRead, size } = totals(context);
      const seconds = (now - started) / 1000;
      const rate = seconds > 0 ? Math.round((counters.written + counters.skipped + counters.failed) / seconds) : 0;
      bar.setTotal(size && size > 0 ? size : Math.max(bytesRead, 1));
      bar.update(bytesRead, {
        bytes: size ? `${formatBytes(bytesRead)} of ${formatBytes(size)}` : formatBytes(bytesRead),
        read: formatCount(counters.read),
        rate: formatCount(rate),
        failed: formatCount(counters.failed),
        inflight: String(context().writer?.stats().inFlight ?? 0),
      });
    },
    stop() {
      bar.stop();
    },
  };
}
