// Turns the results into Markdown tables: printed to the terminal, and written with the raw
// figures to bench/.out/results.md and results.json for the README and bench/PERFORMANCE.md to
// quote.
import fs from 'node:fs';
import path from 'node:path';

const int = (n) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en'));
const fixed = (digits) => (n) => (n === null || n === undefined ? '–' : n.toFixed(digits));

function table(header, rows) {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

function mainTable(rows) {
  return table(
    ['configuration', 'data', 'items', 'items/s', 'MB/s', 'peak RSS MB', 'wall ms', 'CPU ms', 'spread', 'own items/s', 'p95 ms'],
    rows.map((r) => [r.name, r.dataset, int(r.items), int(r.itemsPerSecond), fixed(1)(r.mbPerSecond), fixed(0)(r.peakRssMb), int(r.wallMs), int(r.cpuMs), `${Math.round(r.spread * 100)} %`, int(r.ownItemsPerSecond), fixed(2)(r.p95Ms)]),
  );
}

function targetTable(ratios, checks) {
  const rows = ratios.map((t) => [t.name, t.ratio === null ? '–' : `${t.ratio.toFixed(2)} ×`, `≥ ${t.min} ×`, t.verdict]);
  for (const c of checks) {
    const value =
      c.display !== undefined
        ? c.display
        : c.medianMs !== undefined
        ? `${c.medianMs.toFixed(0)} ms`
        : c.value === null
          ? '–'
          : c.unit === '×'
            ? `${c.value.toFixed(2)} × (${c.detail})`
            : c.detail
              ? `${(c.value * 100).toFixed(1)} % (${c.detail})`
              : `${c.value?.toFixed(0)} MB`;
    rows.push([c.name, value, c.limit, c.verdict]);
  }
  return table(['target', 'measured', 'bar', 'verdict'], rows);
}

function sweepTables(points) {
  const parts = [];
  for (const mode of [...new Set(points.map((p) => p.mode))]) {
    for (const axis of ['concurrency', 'batchSize', 'threads']) {
      const chosen = points.filter((p) => p.mode === mode && p.axis === axis);
      if (chosen.length === 0) continue;
      const fixedSide = {
        concurrency: `--batch-size ${chosen[0].batchSize}`,
        batchSize: `--concurrency ${chosen[0].concurrency}`,
        threads: `--concurrency ${chosen[0].concurrency} --batch-size ${chosen[0].batchSize}`,
      }[axis];
      parts.push(`**bwrite ${mode}, ${fixedSide}**\n`);
      parts.push(
        table(
          [{ concurrency: '--concurrency', batchSize: '--batch-size', threads: 'UV_THREADPOOL_SIZE' }[axis], 'items/s', 'p95 ms', 'items/s (wall)', 'peak RSS MB'],
          chosen.map((p) => [String(p[axis]), int(p.itemsPerSecond), fixed(2)(p.p95Ms), int(p.wallItemsPerSecond), fixed(0)(p.peakRssMb)]),
        ),
      );
      parts.push('');
    }
  }
  return parts.join('\n');
}

function growthTables(growth) {
  const builds = growth.builds.map((b) => `${b.items.toLocaleString('en')} items: ${b.reused ? `cached, built ${b.builtAt} in` : 'built in'} ${(b.buildMs / 1000).toFixed(1)} s${b.commit ? ` (commit ${b.commit})` : ''}`);
  const copies = growth.copies.map((c) => `${c.items.toLocaleString('en')}: ${(c.copyMs / 1000).toFixed(1)} s + sync ${(c.syncMs / 1000).toFixed(1)} s`);
  return [
    table(
      ['measurement', 'samples', 'median ms', 'min–max ms', 'items/s', 'peak RSS MB', 'CPU ms', 'detail'],
      growth.rows.map((r) => [r.name, String(r.samples), int(r.wallMs), r.samples > 1 ? `${int(r.minMs)}–${int(r.maxMs)}` : '', int(r.itemsPerSecond), fixed(0)(r.peakRssMb), int(r.cpuMs), r.detail]),
    ),
    `Stores (random UUID keys, 200 B values, imported in key order; cached in bench/.data/growth/): ${builds.join('; ')}. ` +
      `Copies measured on (cp --reflink=auto -r): ${copies.join('; ')}. Phase: ${(growth.durationS / 60).toFixed(1)} min. ` +
      'Each row is start to exit of one process (median of its samples); items/s over that wall time; peak RSS the worst sample.',
  ].join('\n\n');
}

/** Issue 17: the measured rows in the main table's form, each failed one as its error line. */
function sharedSection(shared) {
  if (shared.skipped) return ['## Shared store (issue 17)', shared.skipped];
  const measured = shared.rows.filter((row) => !row.error);
  const failed = shared.rows.filter((row) => row.error);
  const parts = ['## Shared store (issue 17: PostgreSQL index, S3 values)'];
  if (measured.length) parts.push(mainTable(measured));
  if (failed.length) parts.push(failed.map((row) => `- ${row.name}: ERROR ${row.error}`).join('\n'));
  parts.push(
    `Same servers for bwrite and its floors (scripts/services), each run in its own schema or prefix, dropped after it. ` +
      `"floor pg COPY": parse, SHA-256 and one \`COPY … FROM STDIN\` of every row into a table of the items table's shape (bench/floors/pg-copy.mjs). ` +
      `"floor s3 PUT": parse, SHA-256 and one PutObject per value, ${shared.concurrency} in flight (bench/floors/s3-put.mjs); bwrite at \`--concurrency ${shared.concurrency}\`, "bwrite s3" with a local index, "bwrite s3 + pg" with the index on PostgreSQL too.`,
  );
  return parts;
}

function startupTable(startup) {
  return table(['command', 'median ms', 'mean ms', 'max ms', 'timed with'], startup.map((s) => [s.name, fixed(0)(s.medianMs), fixed(0)(s.meanMs), fixed(0)(s.maxMs), s.tool]));
}

/**
 * A note on how busy the machine was. The load as each run starts counts the bench's own work too
 * (the run before, its writeback), so only the load before the bench began says whether something
 * else was running.
 */
export function loadNote(rows, cores, loadBefore) {
  const loads = rows.map((row) => row.load).filter((l) => l !== undefined && l !== null).sort((a, b) => a - b);
  if (loads.length === 0) return null;
  const middle = loads[loads.length >> 1];
  const busy = loadBefore > cores * 0.75;
  return (
    `1-minute load average before the bench began: ${loadBefore.toFixed(1)} on ${cores} cores${busy ? ': the machine was busy with other work, so absolute figures are low and noisy; the ratios, from interleaved rounds, are the more reliable part' : ''}. ` +
    `Median as the main table's runs started: ${middle.toFixed(1)} (the bench's own runs and their writeback count in it).`
  );
}

export function renderMarkdown(results) {
  const m = results.machine;
  const sections = [
    `# bwrite bench (${results.mode} mode)`,
    `${m.date} · ${m.cores} × ${m.cpu} · ${m.memoryGb} GB · ${m.kernel} · ${m.fileSystem ?? '?'} · Node ${m.node} · commit ${m.commit ?? '?'}${m.uncommittedChanges ? ' (+ uncommitted changes in src/)' : ''} · ${results.rounds} interleaved rounds, medians`,
    '## Throughput',
    mainTable(results.main),
    'items/s and MB/s: records (or input bytes) over the wall time of the whole process, start to exit, median of the rounds. ' +
      '"own items/s" and "p95 ms" come from bwrite\'s JSON summary (its own clock, without process start-up). Peak RSS: the worst round. ' +
      'CPU ms: user + system time of every thread (GNU time), median of the rounds: above the wall time, the process used more than one core; well below it, it waited (on the disk, for one). ' +
      'Spread: (slowest − fastest) / median wall time.',
  ];
  if (results.main.length === 0) sections.splice(2, 3); // --only growth
  if (results.failing?.length) {
    sections.push(
      `## Memory when every record fails (${results.failing[0].items.toLocaleString('en')} × 1 KB records)`,
      mainTable(results.failing),
      `The same lines, imported with \`--key id\` (every record stored) and with \`--key absent\`, a field none of them has (every record fails \`E_KEY_MISSING\` and goes to the failures file), in ${results.rounds} interleaved rounds; peak RSS is the worst round.`,
    );
  }
  if (results.growth) sections.push(`## Growth (issue 15: ${results.growth.sizes.small.toLocaleString('en')} and ${results.growth.sizes.large.toLocaleString('en')} items)`, growthTables(results.growth));
  if (results.shared) sections.push(...sharedSection(results.shared));
  sections.push('## Targets (issues 4, 14, 15 and 17)', targetTable(results.ratios, results.checks));
  if (results.sweep) sections.push(`## Sweep (${results.sweepDataset.items.toLocaleString('en')} × 1 KB records, ${results.sweepRounds} round(s))`, sweepTables(results.sweep));
  if (results.startup) sections.push('## Start-up', startupTable(results.startup));
  if (results.notes.length) sections.push('## Notes', results.notes.map((n) => `- ${n}`).join('\n'));
  return `${sections.join('\n\n')}\n`;
}

/** results.{json,md} for a full run; a quick run writes results-quick.* and leaves those alone. */
export function writeResults(outDir, results) {
  fs.mkdirSync(outDir, { recursive: true });
  const base = path.join(outDir, results.mode === 'full' ? 'results' : `results-${results.mode}`);
  const markdown = renderMarkdown(results);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(`${base}.md`, markdown);
  return { markdown, files: [`${base}.json`, `${base}.md`] };
}
