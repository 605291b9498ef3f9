// Summarises a V8 CPU profile (from `node --cpu-prof`): the functions with the most self time,
// and the bwrite source files by total time spent in their functions.
// usage: node bench/profile.mjs FILE.cpuprofile [TOP]
import fs from 'node:fs';
import path from 'node:path';

const [file, topText = '25'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile.mjs FILE.cpuprofile [TOP]');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map();
const deltas = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);

const label = (frame) => {
  const where = frame.url ? `${path.basename(frame.url)}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'} ${where}`.trim();
};

const byFunction = new Map();
for (const [id, micros] of self) {
  const key = label(nodes.get(id).callFrame);
  byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
}
const top = [...byFunction.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(topText));
console.log(`total sampled: ${(total / 1000).toFixed(0)} ms\n\nself time, top ${top.length}:`);
for (const [name, micros] of top) console.log(`${((100 * micros) / total).toFixed(1).padStart(5)} %  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${name}`);

// Inclusive time per dist/ file: a sample counts once for each distinct file on its stack.
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const inclusive = new Map();
for (const [id, micros] of self) {
  const files = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const url = nodes.get(at).callFrame.url;
    if (url.includes('/dist/')) files.add(url.slice(url.indexOf('/dist/') + 6));
  }
  for (const f of files) inclusive.set(f, (inclusive.get(f) ?? 0) + micros);
}
console.log('\ninclusive time by bwrite file (dist/):');
for (const [f, micros] of [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  console.log(`${((100 * micros) / total).toFixed(1).padStart(5)} %  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${f}`);
}
