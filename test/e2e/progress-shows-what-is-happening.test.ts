import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binPath, ndjson, runBwrite, startBwrite, tempDir, writeText } from '../helpers/cli.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
const ESC = '\u001b';

/** Runs bwrite under a pseudo-terminal of 120 columns (util-linux `script`), returning what it drew. */
function underTerminal(args: string[], env: Record<string, string> = {}): { code: number | null; screen: string } {
  const quoted = [process.execPath, binPath, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  const result = spawnSync('script', ['-qec', `stty cols 120 rows 40; exec ${quoted}`, '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return { code: result.status, screen: result.stdout };
}

async function records(n: number): Promise<{ dir: string; file: string }> {
  const dir = await tempDir();
  const file = await writeText(join(dir, 'in.ndjson'), ndjson(n, (i) => ({ id: `k${i}`, pad: 'x'.repeat(200) })));
  return { dir, file };
}

describe('progress on a terminal', () => {
  if (hasScript) {
    it('draws a bar with bytes read of the file size, records, items/s and in-flight writes, then clears it before the summary', async () => {
      const { dir, file } = await records(6000);
      const { code, screen } = underTerminal(['import', file, '--store', join(dir, 'store'), '--inline-max', '0', '--batch-size', '50']);
      expect(code).toBe(0);
      expect(screen).toMatch(/\d+% \| [\d.]+ (B|KiB|MiB) of 1\.\d+ MiB \| [\d,]+ read \| [\d,]+ items\/s \| 0 failed \| \d+ in flight/);
      const summaryAt = screen.indexOf('bwrite: ok: read 6,000');
      expect(summaryAt).toBeGreaterThan(0);
      expect(screen.lastIndexOf(`${ESC}[2K`, summaryAt)).toBeGreaterThan(screen.lastIndexOf('items/s |', summaryAt));
    });

    it('uses no colour when NO_COLOR is set', async () => {
      const { dir, file } = await records(2000);
      const { code, screen } = underTerminal(['import', file, '--store', join(dir, 'store')], { NO_COLOR: '1' });
      expect(code).toBe(0);
      expect(screen).not.toMatch(new RegExp(`${ESC}\\[3\\dm`));
    });

    it('draws nothing with --quiet or --progress none, even on a terminal', async () => {
      const { dir, file } = await records(500);
      for (const flag of ['--quiet', '--progress=none']) {
        const { code, screen } = underTerminal(['import', file, '--store', join(dir, `store${flag}`), flag]);
        expect(code).toBe(0);
        expect(screen).not.toContain('items/s |');
      }
    });
  }
});

describe('progress off a terminal', () => {
  it('--progress log prints plain timestamped lines, with no escape codes', async () => {
    const { dir, file } = await records(6000);
    const result = await runBwrite(['import', file, '--store', join(dir, 'store'), '--progress', 'log', '--inline-max', '0', '--batch-size', '50'], {
      env: { BWRITE_PROGRESS_INTERVAL_MS: '50' },
    });
    expect(result.code).toBe(0);
    const lines = result.stderr.trim().split('\n');
    const progress = lines.filter((line) => /^\d{4}-\d\d-\d\dT[\d:.]+Z bwrite: read [\d,]+, written [\d,]+, failed 0, [\d,]+ items\/s/.test(line));
    expect(progress.length).toBeGreaterThan(0);
    expect(result.stderr).not.toContain(ESC);
    expect(lines.at(-1)).toMatch(/^bwrite: ok: read 6,000/);
    expect(result.stdout).toBe('');
  });

  it('auto draws nothing when standard error is not a terminal', async () => {
    const { dir, file } = await records(2000);
    const result = await runBwrite(['import', file, '--store', join(dir, 'store')]);
    expect(result.code).toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toContain(ESC);
  });
});

describe('a closed standard error', () => {
  it('does not stop an import (2>&1 | head): every record is stored and the run ends ok', async () => {
    const { dir, file } = await records(3000);
    const store = join(dir, 'store');
    const running = startBwrite(['import', file, '--store', store, '--progress', 'log', '--batch-size', '100'], { env: { BWRITE_PROGRESS_INTERVAL_MS: '20' } });
    running.child.stderr!.destroy();
    const result = await running.result;
    expect(result.code).toBe(0);
    const stats = JSON.parse((await runBwrite(['stats', '--json', '--store', store])).stdout);
    expect(stats.items).toBe(3000);
    expect(stats.runs[0].status).toBe('ok');
  });
});
