import { writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { openHosts, type Hosts } from '../helpers/hosts.js';
import { pgQuery } from '../helpers/postgres.js';
import { serviceEnv, servicesUp, sharedStore } from '../helpers/shared-servers.js';

// On a store many hosts share, `--resume` keeps each host's place in its own inputs: the same path
// on two hosts (every host's /var/log/app/events.ndjson) is two inputs, not one they fight over.

const lines = (from: number, to: number, tag: string) => Array.from({ length: to - from }, (_, i) => `{"id":"${tag}${from + i}"}\n`).join('');

describe.runIf(servicesUp)('--resume on a shared store', () => {
  let hosts: Hosts;
  beforeAll(async () => {
    hosts = await openHosts(2, { services: serviceEnv() });
  });
  afterAll(() => hosts?.close());

  it('keeps a watermark per host for the same input path, so each host reads on from its own place', async () => {
    const names = await Promise.all([1, 2].map(async (host) => (await hosts.runCommand(host, 'hostname', [])).stdout.trim()));
    expect(names[0], 'the two hosts must have hostnames of their own (a UTS namespace)').not.toBe(names[1]);
    const dir = await tempDir();
    const input = join(dir, 'events.ndjson');
    const shared = sharedStore();
    const importOn = async (host: number) => {
      const args = ['import', '--resume', '--json', '-q', '--store', shared.storeUrl(hosts.env(host).BWRITE_TEST_PG_URL), input];
      const result = await hosts.runBwrite(host, args, { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as { written: number; read: number };
    };

    // The same path holds host 1's log, then host 2's (each host's own file in life), then host 1's again, grown.
    await writeFile(input, lines(0, 10, 'one-'));
    expect((await importOn(1)).written).toBe(10);
    await writeFile(input, lines(0, 4, 'two-'));
    expect((await importOn(2)).written).toBe(4);
    await writeFile(input, lines(0, 10, 'one-'));
    await appendFile(input, lines(10, 15, 'one-'));
    expect(await importOn(1), 'host 1 reads on after its own 10 lines').toMatchObject({ written: 5 });

    const items = await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM "${shared.schema}".items`);
    expect(Number(items[0]!.n)).toBe(19);
    const sources = await pgQuery<{ name: string }>(`SELECT name FROM "${shared.schema}".sources ORDER BY name`);
    expect(sources.map((s) => s.name)).toEqual([`host:${names[0]}:${input}`, `host:${names[1]}:${input}`].sort());
  });
});
