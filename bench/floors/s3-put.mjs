// The S3 floor: a minimal PUT loop. Parse, SHA-256 (objects are named by digest, as bwrite names
// them), and one PutObject per value with at most CONCURRENCY in flight, through the AWS SDK's
// defaults (AWS_ENDPOINT_URL, AWS_REGION, keys from the environment). Nothing else: no index, no
// check that an object is already there.
// usage: node s3-put.mjs FILE s3://BUCKET/PREFIX [CONCURRENCY]
import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readLines } from './lines.mjs';

// The SDK warns on Node 20 of its later releases' needs: noise in a bench's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const [file, target, concurrency = '10'] = process.argv.slice(2);
const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(target ?? '');
if (!match) throw new Error(`usage: node s3-put.mjs FILE s3://BUCKET/PREFIX [CONCURRENCY], got ${target}`);
const [, bucket, prefix] = match;
const limit = Number(concurrency);
const s3 = new S3Client({ forcePathStyle: true });

let active = 0;
let wake = null;
let failure = null;
let items = 0;
let bytes = 0;
const inFlight = new Set();

function put(digest, value) {
  const done = s3
    .send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${digest.slice(0, 2)}/${digest}`, Body: value }))
    .catch((error) => (failure ??= error))
    .finally(() => {
      active--;
      inFlight.delete(done);
      wake?.();
      wake = null;
    });
  inFlight.add(done);
}

for await (const value of readLines(file)) {
  JSON.parse(value.toString('utf8'));
  const digest = createHash('sha256').update(value).digest('hex');
  while (active >= limit) await new Promise((resolve) => (wake = resolve));
  if (failure) break;
  active++;
  // readLines may hand out views of its read buffer: the request keeps its own copy.
  put(digest, Buffer.from(value));
  items++;
  bytes += value.length;
}
await Promise.all(inFlight);
s3.destroy();
if (failure) throw failure;
console.log(JSON.stringify({ items, bytes }));
