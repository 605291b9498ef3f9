// Hosts for tests of a store shared by many machines: a command run "as host N" runs in its own
// network namespace, where the machine allows it (root, `ip netns`), with its own hostname (a
// UTS namespace). The servers listen on 127.0.0.1 only, which a namespace cannot reach: each host
// gets a veth pair, and the test process forwards the host end's address, on the servers' ports,
// to 127.0.0.1, so a host reaches PostgreSQL and S3 over a network link of its own. Where
// namespaces are not allowed, a host is a plain separate process, and `mode` and `why` say so.
import { execFile } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { binPath, startCommand, type RunningBwrite, type RunOptions, type RunResult } from './cli.js';

const run = promisify(execFile);

export type HostMode = 'netns' | 'process';

export interface Hosts {
  /** `netns`: each host in its own network and UTS namespace; `process`: separate processes only. */
  readonly mode: HostMode;
  /** Why the hosts are plain processes (empty in `netns` mode). */
  readonly why: string;
  readonly count: number;
  /** Host N's hostname (1-based), as `hostname` prints it there when UTS namespaces work. */
  hostname(host: number): string;
  /** The environment variables naming the servers, rewritten to the addresses host N reaches them at. */
  env(host: number): Record<string, string>;
  /** Start `bin/bwrite ARGS` as host N; `opts.env` comes on top of `env(N)`. */
  startBwrite(host: number, args: string[], opts?: RunOptions): RunningBwrite;
  runBwrite(host: number, args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Any command as host N (never through a shell of the caller's). */
  runCommand(host: number, command: string, argv: string[], opts?: RunOptions): Promise<RunResult>;
  /** Stops the forwarders and removes the namespaces and links. */
  close(): Promise<void>;
}

export interface HostsOptions {
  /**
   * The variables that name servers on 127.0.0.1 (URLs such as `postgres://u:p@127.0.0.1:5432/db`
   * or `http://127.0.0.1:7480`, or a bare `127.0.0.1` as in PGHOST): each host gets them rewritten.
   */
  services?: Record<string, string | undefined>;
}

/** One host's namespace, its veth pair and the address of the test process's end of it. */
interface HostNet {
  netns: string;
  hostIf: string;
  gateway: string;
}

const NAME_PREFIX = 'bwt';
const LOOPBACK = '127.0.0.1';

export async function openHosts(count: number, options: HostsOptions = {}): Promise<Hosts> {
  const services = Object.fromEntries(Object.entries(options.services ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const ports = servicePorts(services);
  const uts = await utsWorks();
  const reason = await netnsUnavailable();
  if (reason) return new ProcessHosts(count, services, uts, reason);
  await removeStaleNamespaces();
  const nets: HostNet[] = [];
  const forwarders = new Forwarders();
  try {
    const subnet = await freeSubnet();
    const set = ++opened;
    for (let host = 1; host <= count; host++) {
      const net = await makeHostNet(set, host, subnet);
      nets.push(net);
      for (const port of ports) await forwarders.listen(net.gateway, port);
    }
  } catch (error) {
    await forwarders.close();
    await removeNets(nets);
    return new ProcessHosts(count, services, uts, `setting up namespaces failed: ${(error as Error).message.split('\n')[0]}`);
  }
  return new NetnsHosts(count, services, nets, forwarders);
}

abstract class BaseHosts implements Hosts {
  abstract readonly mode: HostMode;
  abstract readonly why: string;

  constructor(
    readonly count: number,
    protected readonly services: Record<string, string>,
  ) {}

  hostname(host: number): string {
    this.check(host);
    return `bwrite-host-${host}`;
  }

  env(host: number): Record<string, string> {
    this.check(host);
    return { ...this.services, HOSTNAME: this.hostname(host) };
  }

  /** The argv that runs `command argv...` as host N. */
  protected abstract wrap(host: number, command: string, argv: string[]): [string, string[]];

  startBwrite(host: number, args: string[], opts: RunOptions = {}): RunningBwrite {
    return this.start(host, process.execPath, [binPath, ...args], opts);
  }

  runBwrite(host: number, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.startBwrite(host, args, opts).result;
  }

  runCommand(host: number, command: string, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.start(host, command, argv, opts).result;
  }

  abstract close(): Promise<void>;

  private start(host: number, command: string, argv: string[], opts: RunOptions): RunningBwrite {
    const [file, args] = this.wrap(host, command, argv);
    return startCommand(file, args, { ...opts, env: { ...this.env(host), ...opts.env } });
  }

  private check(host: number): void {
    if (!Number.isInteger(host) || host < 1 || host > this.count) throw new Error(`no host ${host}: hosts are 1 to ${this.count}`);
  }
}

// `sh -c 'hostname "$0"; exec "$@"'` inside `unshare --uts`: the name is an argument, never
// interpolated into the script. unshare, ip netns exec and sh all exec, so the pid started is the
// command's own and a signal sent to it reaches the command.
// No PID namespace: `unshare --pid` needs --fork, and a signal sent to the waiting unshare then
// does not reach the command, which tests of signals need.
const SET_HOSTNAME = 'hostname "$0" && exec "$@"';

function utsWrap(hostname: string, command: string, argv: string[]): [string, string[]] {
  return ['unshare', ['--uts', '/bin/sh', '-c', SET_HOSTNAME, hostname, command, ...argv]];
}

class ProcessHosts extends BaseHosts {
  readonly mode = 'process' as const;

  constructor(
    count: number,
    services: Record<string, string>,
    private readonly uts: boolean,
    readonly why: string,
  ) {
    super(count, services);
  }

  protected wrap(host: number, command: string, argv: string[]): [string, string[]] {
    return this.uts ? utsWrap(this.hostname(host), command, argv) : [command, argv];
  }

  async close(): Promise<void> {}
}

class NetnsHosts extends BaseHosts {
  readonly mode = 'netns' as const;
  readonly why = '';

  constructor(
    count: number,
    services: Record<string, string>,
    private readonly nets: HostNet[],
    private readonly forwarders: Forwarders,
  ) {
    super(count, services);
  }

  override env(host: number): Record<string, string> {
    const env = super.env(host);
    const { gateway } = this.net(host);
    for (const [name, value] of Object.entries(this.services)) env[name] = readdress(value, gateway);
    return env;
  }

  protected wrap(host: number, command: string, argv: string[]): [string, string[]] {
    const [file, args] = utsWrap(this.hostname(host), command, argv);
    return ['ip', ['netns', 'exec', this.net(host).netns, file, ...args]];
  }

  private net(host: number): HostNet {
    const net = this.nets[host - 1];
    if (!net) throw new Error(`no host ${host}: hosts are 1 to ${this.count}`);
    return net;
  }

  async close(): Promise<void> {
    await this.forwarders.close();
    await removeNets(this.nets);
  }
}

/** The ports of the services on 127.0.0.1 named by the variables' URLs. */
function servicePorts(services: Record<string, string>): number[] {
  const ports = new Set<number>();
  for (const value of Object.values(services)) {
    const url = parseUrl(value);
    if (url && url.hostname === LOOPBACK && url.port) ports.add(Number(url.port));
  }
  return [...ports];
}

/** `value` with 127.0.0.1 replaced by `address`, in a URL or as a bare host (PGHOST). */
function readdress(value: string, address: string): string {
  if (value === LOOPBACK) return address;
  const url = parseUrl(value);
  if (!url || url.hostname !== LOOPBACK) return value;
  url.hostname = address;
  return url.toString().replace(/\/$/, value.endsWith('/') ? '/' : '');
}

function parseUrl(value: string): URL | null {
  try {
    return value.includes('://') ? new URL(value) : null;
  } catch {
    return null;
  }
}

async function utsWorks(): Promise<boolean> {
  try {
    await run('unshare', ['--uts', 'hostname', 'bwrite-probe']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why namespaces cannot be used here, or '' when they can. BWRITE_TEST_HOSTS=process asks for
 * plain processes (to run the tests as they run where namespaces are not allowed).
 */
async function netnsUnavailable(): Promise<string> {
  if (process.env.BWRITE_TEST_HOSTS === 'process') return 'BWRITE_TEST_HOSTS=process';
  if (process.getuid?.() !== 0) return 'not root: network namespaces need root';
  try {
    await run('ip', ['netns', 'list']);
    await run('unshare', ['--net', 'true']);
  } catch (error) {
    return `network namespaces are not allowed here (${(error as Error).message.split('\n')[0]})`;
  }
  return '';
}

// Names carry the test process's pid, so that a run killed before close() is cleaned up by the
// next one once that pid is gone, and a count of the sets opened by this process.
let opened = 0;
const namespaceName = (set: number, host: number) => `${NAME_PREFIX}-${process.pid}-${set}-${host}`;

async function removeStaleNamespaces(): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list']);
  for (const line of stdout.split('\n')) {
    const match = new RegExp(`^(${NAME_PREFIX}-(\\d+)-\\d+-\\d+)\\b`).exec(line);
    const [, name, pid] = match ?? [];
    if (name && pid && !alive(Number(pid))) await run('ip', ['netns', 'del', name]).catch(() => {});
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A /24 of the link-local range (169.254.0.0/16: never routed off the machine) that no interface
 * here uses yet; each host takes a /30 of it.
 */
async function freeSubnet(): Promise<string> {
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show']);
  const used = new Set([...stdout.matchAll(/inet 169\.254\.(\d+)\./g)].map((m) => Number(m[1])));
  const start = 1 + (process.pid % 200);
  for (let i = 0; i < 250; i++) {
    const octet = 1 + ((start + i) % 250);
    if (!used.has(octet)) return `169.254.${octet}`;
  }
  throw new Error('no free 169.254.x.0/24 for the hosts');
}

async function makeHostNet(set: number, host: number, subnet: string): Promise<HostNet> {
  if (host > 60) throw new Error('at most 60 hosts fit in one /24');
  const netns = namespaceName(set, host);
  // Interface names are at most 15 characters: "bwh" and 4 + 2 + 2 base-36 digits.
  const digits = (n: number, width: number) => n.toString(36).padStart(width, '0');
  const tag = `${digits(process.pid % 36 ** 4, 4)}${digits(set % 36 ** 2, 2)}${digits(host, 2)}`;
  const hostIf = `bwh${tag}`;
  const nsIf = `bwn${tag}`;
  const gateway = `${subnet}.${host * 4 + 1}`;
  const inside = `${subnet}.${host * 4 + 2}`;
  const ip = (...args: string[]) => run('ip', args);
  const inNs = (...args: string[]) => run('ip', ['netns', 'exec', netns, 'ip', ...args]);
  await ip('netns', 'add', netns);
  const net = { netns, hostIf, gateway };
  try {
    await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    await ip('link', 'set', nsIf, 'netns', netns);
    await ip('addr', 'add', `${gateway}/30`, 'dev', hostIf);
    await ip('link', 'set', hostIf, 'up');
    await inNs('addr', 'add', `${inside}/30`, 'dev', nsIf);
    await inNs('link', 'set', nsIf, 'up');
    await inNs('link', 'set', 'lo', 'up');
  } catch (error) {
    await removeNets([net]);
    throw error;
  }
  return net;
}

async function removeNets(nets: HostNet[]): Promise<void> {
  for (const net of nets) {
    // Deleting the namespace deletes its end of the pair, and with it the other end.
    await run('ip', ['netns', 'del', net.netns]).catch(() => {});
    await run('ip', ['link', 'del', net.hostIf]).catch(() => {});
  }
}

/** TCP forwarders in the test process: a host's gateway address and a port, to 127.0.0.1. */
class Forwarders {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();

  async listen(address: string, port: number): Promise<void> {
    const server = createServer((incoming) => this.forward(incoming, port));
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  private forward(incoming: Socket, port: number): void {
    const outgoing = createConnection(port, LOOPBACK);
    for (const socket of [incoming, outgoing]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      // A reset on one side ends the other, as a real link would.
      socket.on('error', () => (socket === incoming ? outgoing : incoming).destroy());
    }
    incoming.pipe(outgoing);
    outgoing.pipe(incoming);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}
