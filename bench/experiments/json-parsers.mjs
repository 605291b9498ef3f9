// Issue 16: can a streaming JSON library split a top-level array fast enough for --format json
// (>= 0.7 x the NDJSON import rate on the same records)? Parses FILE (a JSON array) with each
// candidate, doing nothing with the values, and prints the time. The libraries are not bwrite
// dependencies: run it from a scratch directory where they are installed, e.g.
//   mkdir /tmp/jp && cd /tmp/jp && npm init -y && npm install @streamparser/json stream-json stream-chain
//   node /path/to/bwrite/bench/experiments/json-parsers.mjs FILE
// and compare with `bwrite import` of the same records as NDJSON and with --format json
// (results: json-parsers.md).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const file = process.argv[2];
if (!file) {
  console.error('usage: node json-parsers.mjs FILE.json');
  process.exit(2);
}
const local = createRequire(path.join(process.cwd(), 'package.json'));
// A CommonJS entry's exports arrive as `default`.
const load = async (name) => {
  const module = await import(local.resolve(name));
  return module.default && typeof module.default === 'object' ? { ...module.default, ...module } : module;
};
const chunks = () => fs.createReadStream(file, { highWaterMark: 1024 * 1024 });

const candidates = {
  // What --format json does before keys and writes: find each element, then JSON.parse it alone.
  async "bwrite's JsonSplitter + JSON.parse of each element"() {
    const { JsonSplitter } = await import(new URL('../../dist/input/json-values.js', import.meta.url).href);
    let n = 0;
    const splitter = new JsonSplitter(16 * 1024 * 1024);
    const parse = (values) => {
      for (const value of values) if (value.kind === 'value' && JSON.parse(value.bytes.toString('latin1'))) n++;
    };
    for await (const chunk of chunks()) parse(splitter.feed(chunk));
    parse(splitter.finish());
    return n;
  },
  async '@streamparser/json JSONParser ($.*)'() {
    const { JSONParser } = await load('@streamparser/json');
    let n = 0;
    const parser = new JSONParser({ paths: ['$.*'], keepStack: false });
    parser.onValue = () => n++;
    for await (const chunk of chunks()) parser.write(chunk);
    return n;
  },
  async '@streamparser/json Tokenizer (tokens only)'() {
    const { Tokenizer } = await load('@streamparser/json');
    let n = 0;
    const tokenizer = new Tokenizer();
    tokenizer.onToken = () => n++;
    for await (const chunk of chunks()) tokenizer.write(chunk);
    return n;
  },
  async 'stream-json parser + streamArray'() {
    const { parserStream } = await load('stream-json');
    const { streamArray } = await load('stream-json/core/streamers/stream-array.js');
    const { chain } = await load('stream-chain');
    let n = 0;
    for await (const _ of chain([chunks(), parserStream(), streamArray()])) n++;
    return n;
  },
};

for (const [name, run] of Object.entries(candidates)) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const count = await run();
  const used = process.cpuUsage(cpu);
  // CPU time as well as wall time: on a shared machine the wall time says more about the neighbours.
  console.log(`${name}: ${count} values/tokens, ${Math.round(performance.now() - started)} ms wall, ${Math.round((used.user + used.system) / 1000)} ms CPU`);
}
