// Ports for servers a test starts of its own.
import { execFileSync } from 'node:child_process';

/**
 * A loopback port nothing listens on now, as the kernel hands one out: a random pick from the
 * ephemeral range may be a port some connection of the tests already uses.
 */
export function freePort(): number {
  const script = "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });";
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
}
