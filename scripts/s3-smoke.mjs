#!/usr/bin/env node
// Minimal S3 client for scripts/services: SigV4 with node built-ins only, because the AWS SDK
// is not a dependency yet. Reads AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and BWRITE_TEST_BUCKET.
//   s3-smoke.mjs ping     exit 0 when the endpoint answers a signed ListBuckets with 200
//   s3-smoke.mjs bucket   create the bucket (an existing one owned by us is fine)
//   s3-smoke.mjs smoke    PUT, GET, then a PUT with If-None-Match: * on the same key (expects 412)
import { createHash, createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`s3-smoke: ${name} is not set; source the services env file first`);
    process.exit(2);
  }
  return value;
};

const endpoint = new URL(env('AWS_ENDPOINT_URL'));
const region = env('AWS_REGION');
const accessKey = env('AWS_ACCESS_KEY_ID');
const secretKey = env('AWS_SECRET_ACCESS_KEY');

const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

// Path-style addressing: the bucket is the first path segment, as radosgw on an IP expects.
function sign(method, path, headers, body) {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256(body);
  const all = { ...headers, host: endpoint.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash };
  const names = Object.keys(all).map((n) => n.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(all).map(([k, v]) => [k.toLowerCase(), String(v).trim()]));
  const canonicalHeaders = names.map((n) => `${n}:${lower[n]}\n`).join('');
  const signedHeaders = names.join(';');
  const canonical = [method, path, '', canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretKey}`, day), region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  lower.authorization = `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return lower;
}

function request(method, path, body = Buffer.alloc(0), headers = {}) {
  const signed = sign(method, path, headers, body);
  const client = endpoint.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      { method, host: endpoint.hostname, port: endpoint.port, path, headers: { ...signed, 'content-length': body.length } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

function expect(what, res, status) {
  if (res.status !== status) {
    console.error(`s3-smoke: ${what} returned ${res.status}, expected ${status}: ${res.body.toString().slice(0, 200)}`);
    process.exit(1);
  }
  console.log(`${what}: ${res.status}`);
}

async function main(command) {
  if (command === 'ping') {
    const res = await request('GET', '/');
    process.exit(res.status === 200 ? 0 : 1);
  }
  const bucket = env('BWRITE_TEST_BUCKET');
  if (command === 'bucket') {
    const res = await request('PUT', `/${bucket}`);
    // 409 BucketAlreadyOwnedByYou would also mean it exists; radosgw answers 200 for its owner.
    if (res.status !== 200 && !res.body.toString().includes('BucketAlreadyOwnedByYou')) expect(`create bucket ${bucket}`, res, 200);
    return;
  }
  if (command === 'smoke') {
    const key = `/${bucket}/smoke/${randomBytes(8).toString('hex')}`;
    const first = Buffer.from('first value\n');
    expect(`PUT ${key}`, await request('PUT', key, first), 200);
    const got = await request('GET', key);
    expect(`GET ${key}`, got, 200);
    if (!got.body.equals(first)) {
      console.error('s3-smoke: GET returned other bytes than the PUT sent');
      process.exit(1);
    }
    const again = await request('PUT', key, Buffer.from('other value\n'), { 'if-none-match': '*' });
    expect(`PUT ${key} with If-None-Match: * on an existing key`, again, 412);
    const after = await request('GET', key);
    if (!after.body.equals(first)) {
      console.error('s3-smoke: the refused conditional PUT changed the object');
      process.exit(1);
    }
    console.log('object unchanged after the refused PUT');
    expect(`DELETE ${key}`, await request('DELETE', key), 204);
    return;
  }
  console.error('usage: s3-smoke.mjs ping|bucket|smoke');
  process.exit(2);
}

main(process.argv[2]).catch((err) => {
  console.error(`s3-smoke: ${err.message}`);
  process.exit(1);
});
