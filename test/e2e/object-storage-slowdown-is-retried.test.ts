import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runBwrite, tempDir, writeText } from '../helpers/cli.js';
import { describeRun, sha256 } from '../helpers/store.js';
import { freshPrefix, objectKey, objectKeys } from '../helpers/s3.js';
import { s3Available } from '../helpers/s3.js';

// The real radosgw behind a proxy that answers some PUTs itself, as a loaded S3 does: `503 SlowDown`,
// `500 InternalError` or `429`. Every other request, and every refused PUT's next attempt, reaches
// the server; what the import stores must be exactly what the server would have stored anyway.

interface Refusal {
  status: number;
  code: string;
}

/** Forwards to `target`, refusing every `every`-th PUT with the next refusal in turn; counts them. */
async function flakyProxy(target: URL, refusals: Refusal[], every: number): Promise<{ url: string; refused: () => number }> {
  let puts = 0;
  let refused = 0;
  const server = http.createServer((req, res) => {
    if (req.method === 'PUT' && ++puts % every === 0) {
      const refusal = refusals[refused++ % refusals.length]!;
      req.resume();
      res.writeHead(refusal.status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${refusal.code}</Code><Message>try again</Message></Error>`);
      return;
    }
    // The Host header goes as the client signed it: the server checks the signature with it.
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, refused: () => refused };
}

describe.runIf(s3Available)('object storage that answers SlowDown, 500 or 429', () => {
  it('retries each refused PUT with the import\'s backoff and stores every value once, exit 0', async () => {
    const proxy = await flakyProxy(new URL(process.env.AWS_ENDPOINT_URL!), [
      { status: 503, code: 'SlowDown' },
      { status: 500, code: 'InternalError' },
      { status: 429, code: 'TooManyRequests' },
    ], 3);
    const dir = await tempDir();
    const { url, prefix } = freshPrefix();
    const values = Array.from({ length: 60 }, (_, i) => JSON.stringify({ id: `k${i}`, pad: String(i).repeat(400) }));
    const input = await writeText(join(dir, 'in.ndjson'), values.map((v) => `${v}\n`).join(''));
    const args = ['import', input, '--store', join(dir, 'store'), '--blobs', url, '--inline-max', '100', '--retry-delay', '5', '--retries', '8', '--json', '-q'];
    const result = await runBwrite(args, { env: { AWS_ENDPOINT_URL: proxy.url } });
    expect(result.code, describeRun(args, result)).toBe(0);
    const summary = JSON.parse(result.stdout) as { written: number; failed: number; retries: number };
    expect(summary).toMatchObject({ written: 60, failed: 0 });
    expect(proxy.refused()).toBeGreaterThanOrEqual(20);
    expect(summary.retries).toBe(proxy.refused());
    expect((await objectKeys(prefix)).sort()).toEqual(values.map((v) => objectKey(prefix, sha256(v))).sort());
    const verify = await runBwrite(['verify', '--deep', '--store', join(dir, 'store')]);
    expect(verify.code, verify.stderr).toBe(0);
  });
});
