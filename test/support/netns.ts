// E2E network harness: separate "machines" as Linux network namespaces joined by veth pairs, with nftables
// firewalls, routes and link failures. Requires root (iproute2 + nftables). Nothing here touches the host's own
// interfaces, routes or firewall: every command runs inside a namespace this lab created (`ip -n NS …` or
// `ip netns exec NS …`), except linkToRoot(), which adds one veth end (named with the lab's prefix, with the
// test's own /30) to the host's namespace so a process of the test itself (an API stand-in) can be reached; it
// goes with its namespace. Everything created is removed by destroy(), by the node:test `after()` hook, on exit and
// on SIGINT/SIGTERM; namespaces left behind by crashed runs are swept the next time a lab is created.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  ManagedProcess,
  registerCleanup,
  run,
  runOk,
  testOutputDir,
  type ManagedProcessOptions,
  type RunOptions,
  type RunResult,
} from './proc.js';
import { waitFor } from './wait.js';

/** Directory holding one marker file per live lab prefix (records the creating pid). */
export const MARKER_DIR = '/run/caravan-test';
/** Every lab prefix looks like `cv<pid % 1000><letter(s)>-`. */
const PREFIX_RE = /^cv\d{1,3}[a-z]+-$/;
const NFT_TABLE = 'caravan_test';

export interface HostInterface {
  /** Interface name inside the host's namespace. */
  name: string;
  /** Address with prefix length, e.g. `100.64.1.2/30`. */
  cidr: string;
  /** Address without prefix length, e.g. `100.64.1.2`. */
  address: string;
  peerHost: string;
  peerIf: string;
}

export interface Host {
  /** Name given to addHost(). */
  readonly name: string;
  /** Network namespace name (lab prefix + name). */
  readonly ns: string;
  /** Addresses (without prefix length) given to this host, in the order they were assigned. */
  readonly addresses: string[];
  readonly interfaces: HostInterface[];
}

export interface ConnectOptions {
  mtu?: number;
  /** Interface names on a and b (≤ 15 characters); default: the peer host's name, made unique. */
  ifNames?: readonly [string, string] | { a?: string; b?: string };
}

interface HostState extends Host {
  routes: Map<string, { dest: string; via: string; dev?: string }>;
  firewall: boolean;
}

interface Marker {
  prefix: string;
  pid: number;
  pidStart: string;
  lab: string;
  created: string;
}

function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); fields after the ")" that closes the command name start at field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function markerAlive(m: Marker): boolean {
  const start = procStartTime(m.pid);
  return start !== undefined && start === m.pidStart;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

function parseNetnsList(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

/** Names of all network namespaces (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const r = await runOk('ip', ['netns', 'list'], { timeoutMs: 10_000 });
  return parseNetnsList(r.stdout);
}

function nsPidsSync(ns: string): number[] {
  try {
    return sh('ip', ['netns', 'pids', ns])
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

async function nsPids(ns: string): Promise<number[]> {
  const r = await run('ip', ['netns', 'pids', ns], { timeoutMs: 10_000 });
  if (r.code !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still "exists" but is dead for our purposes.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Kills every process inside `ns` (SIGKILL) and deletes the namespace, synchronously. */
function removeNamespaceSync(ns: string): void {
  for (const pid of nsPidsSync(ns)) killPid(pid, 'SIGKILL');
  try {
    sh('ip', ['netns', 'del', ns]);
  } catch {
    // already gone
  }
}

/** Kills every process inside `ns` and deletes the namespace. */
async function removeNamespace(ns: string): Promise<void> {
  const pids = await nsPids(ns);
  for (const pid of pids) killPid(pid, 'SIGKILL');
  if (pids.length > 0) {
    await waitFor(() => pids.every((p) => !pidAlive(p)), {
      what: `processes ${pids.join(',')} in namespace ${ns} to die`,
      timeoutMs: 5000,
    });
  }
  const r = await run('ip', ['netns', 'del', ns], { timeoutMs: 10_000 });
  if (r.code !== 0 && (await listNamespaces()).includes(ns)) {
    throw new Error(`ip netns del ${ns} failed: ${r.stderr.trim()}`);
  }
}

function readMarker(path: string): Marker | undefined {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Partial<Marker>;
    if (typeof m.prefix === 'string' && typeof m.pid === 'number' && typeof m.pidStart === 'string') {
      return m as Marker;
    }
  } catch {
    // unreadable or half-written
  }
  return undefined;
}

/**
 * Removes namespaces (and processes in them) left behind by labs whose creating process no longer exists, and
 * their marker files. Returns the names of the namespaces removed. Labs of live processes are never touched.
 */
export async function sweepStaleLabs(): Promise<string[]> {
  mkdirSync(MARKER_DIR, { recursive: true });
  const removed: string[] = [];
  let namespaces: string[] | undefined;
  for (const file of readdirSync(MARKER_DIR)) {
    if (!file.endsWith('.json')) continue;
    const path = join(MARKER_DIR, file);
    const marker = readMarker(path);
    let prefix: string;
    if (marker) {
      if (markerAlive(marker)) continue;
      prefix = marker.prefix;
    } else {
      // Half-written markers of a live creator exist only for an instant; older unreadable ones are stale.
      try {
        if (Date.now() - statSync(path).mtimeMs < 60_000) continue;
      } catch {
        continue;
      }
      prefix = file.slice(0, -'.json'.length);
    }
    if (!PREFIX_RE.test(prefix)) continue;
    namespaces ??= await listNamespaces();
    for (const ns of namespaces.filter((n) => n.startsWith(prefix))) {
      await removeNamespace(ns);
      removed.push(ns);
    }
    try {
      unlinkSync(path);
    } catch {
      // someone else swept it
    }
  }
  return removed;
}

let labCounter = 0;
const labs = new Set<NetLab>();

function counterSuffix(n: number): string {
  // a, b, …, z, ba, bb, … (base 26 with letters only, so it never merges with the pid digits)
  let s = '';
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

function isIfName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(name);
}

/** A set of namespaced hosts, links and processes that is torn down as a whole. */
export class NetLab {
  readonly name: string;
  /** Prefix of every namespace this lab creates, e.g. `cv123a-`. */
  readonly prefix: string;
  /** Directory for logs of processes started through the lab. */
  readonly logDir: string;
  private readonly markerPath: string;
  private readonly hostMap = new Map<string, HostState>();
  private readonly procs = new Set<ManagedProcess>();
  /** veth ends this lab put into the host's own namespace (linkToRoot). */
  private readonly rootIfs = new Set<string>();
  private destroying: Promise<void> | undefined;
  private destroyedSync = false;
  private readonly unregister: () => void;

  private constructor(name: string, prefix: string, markerPath: string) {
    this.name = name;
    this.prefix = prefix;
    this.markerPath = markerPath;
    this.logDir = testOutputDir('e2e', `${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}-${prefix.slice(0, -1)}`);
    this.unregister = registerCleanup({ async: () => this.destroy(), sync: () => this.destroySync() });
    labs.add(this);
  }

  /** Sweeps stale labs of crashed runs, then reserves a fresh prefix for a new lab. */
  static async create(name: string): Promise<NetLab> {
    if (process.getuid?.() !== 0) throw new Error('NetLab needs root (network namespaces, nftables)');
    await sweepStaleLabs();
    const pidStart = procStartTime(process.pid) ?? '0';
    for (let attempt = 0; attempt < 1000; attempt++) {
      const prefix = `cv${process.pid % 1000}${counterSuffix(labCounter++)}-`;
      const markerPath = join(MARKER_DIR, `${prefix}.json`);
      const marker: Marker = {
        prefix,
        pid: process.pid,
        pidStart,
        lab: name,
        created: new Date().toISOString(),
      };
      try {
        writeFileSync(markerPath, JSON.stringify(marker), { flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue; // another live process owns this prefix
        throw err;
      }
      // A namespace with this prefix without a live marker would be a leftover; remove it before reuse.
      for (const ns of (await listNamespaces()).filter((n) => n.startsWith(prefix)))
        await removeNamespace(ns);
      return new NetLab(name, prefix, markerPath);
    }
    throw new Error('could not reserve a namespace prefix');
  }

  /** Destroys every lab that has not been destroyed yet. */
  static async destroyAll(): Promise<void> {
    await Promise.all([...labs].map((l) => l.destroy()));
  }

  get hosts(): Host[] {
    return [...this.hostMap.values()];
  }

  get destroyed(): boolean {
    return this.destroying !== undefined || this.destroyedSync;
  }

  /** The host called `name`. */
  host(name: string): Host {
    const h = this.hostMap.get(name);
    if (!h) throw new Error(`no host ${name} in lab ${this.name}`);
    return h;
  }

  private state(host: Host): HostState {
    const h = this.hostMap.get(host.name);
    if (!h || h.ns !== host.ns) throw new Error(`host ${host.name} does not belong to lab ${this.name}`);
    return h;
  }

  private assertLive(): void {
    if (this.destroyed) throw new Error(`lab ${this.name} has been destroyed`);
  }

  /** Creates a namespace for a new host and brings its loopback up. */
  async addHost(name: string): Promise<Host> {
    this.assertLive();
    if (!/^[a-z0-9][a-z0-9-]{0,23}$/.test(name)) throw new Error(`bad host name '${name}'`);
    if (this.hostMap.has(name)) throw new Error(`host ${name} already exists`);
    const host: HostState = {
      name,
      ns: `${this.prefix}${name}`,
      addresses: [],
      interfaces: [],
      routes: new Map(),
      firewall: false,
    };
    this.hostMap.set(name, host); // registered first so destroy() removes it even if a later step fails
    await runOk('ip', ['netns', 'add', host.ns]);
    await runOk('ip', ['-n', host.ns, 'link', 'set', 'dev', 'lo', 'up']);
    return host;
  }

  private ifNameFor(host: HostState, wanted: string | undefined, peer: string): string {
    if (wanted !== undefined) {
      if (!isIfName(wanted)) throw new Error(`bad interface name '${wanted}' (at most 15 characters)`);
      if (host.interfaces.some((i) => i.name === wanted)) {
        throw new Error(`interface ${wanted} already exists on ${host.name}`);
      }
      return wanted;
    }
    const base = peer.slice(0, 12);
    let name = base;
    for (let i = 1; host.interfaces.some((x) => x.name === name); i++) name = `${base}${i}`;
    return name;
  }

  /**
   * Links two hosts with a veth pair: `aCidr` (e.g. `100.64.1.1/30`) on a's end, `bCidr` on b's end, both up.
   * The pair is created inside a's namespace with its peer directly in b's, so it never appears on the host.
   */
  async connect(
    a: Host,
    b: Host,
    aCidr: string,
    bCidr: string,
    opts: ConnectOptions = {},
  ): Promise<{ aIf: string; bIf: string }> {
    this.assertLive();
    const ha = this.state(a);
    const hb = this.state(b);
    if (ha === hb) throw new Error('cannot connect a host to itself');
    for (const c of [aCidr, bCidr]) if (!/^[\d.]+\/\d{1,2}$/.test(c)) throw new Error(`bad IPv4 CIDR '${c}'`);
    const names = Array.isArray(opts.ifNames)
      ? {
          a: (opts.ifNames as readonly [string, string])[0],
          b: (opts.ifNames as readonly [string, string])[1],
        }
      : ((opts.ifNames as { a?: string; b?: string } | undefined) ?? {});
    const aIf = this.ifNameFor(ha, names.a, hb.name);
    const bIf = this.ifNameFor(hb, names.b, ha.name);
    await runOk('ip', [
      '-n',
      ha.ns,
      'link',
      'add',
      'name',
      aIf,
      'type',
      'veth',
      'peer',
      'name',
      bIf,
      'netns',
      hb.ns,
    ]);
    for (const [h, ifName, cidr, peer, peerIf] of [
      [ha, aIf, aCidr, hb, bIf],
      [hb, bIf, bCidr, ha, aIf],
    ] as const) {
      if (opts.mtu !== undefined)
        await runOk('ip', ['-n', h.ns, 'link', 'set', 'dev', ifName, 'mtu', String(opts.mtu)]);
      await runOk('ip', ['-n', h.ns, 'addr', 'add', cidr, 'dev', ifName]);
      await runOk('ip', ['-n', h.ns, 'link', 'set', 'dev', ifName, 'up']);
      const address = cidr.split('/')[0] ?? cidr;
      h.interfaces.push({ name: ifName, cidr, address, peerHost: peer.name, peerIf });
      h.addresses.push(address);
    }
    return { aIf, bIf };
  }

  /**
   * Links `host` to the test machine's own namespace with a veth pair, so processes in the namespace can reach a
   * server of the test process listening on `rootCidr`'s address. The root end is named `<prefix><suffix>`
   * (≤ 15 characters) and carries only `rootCidr` (use a /30 nothing else on the machine uses); the host's end is
   * `ifName` with `hostCidr`. Deleting the namespace deletes the pair; teardown checks the root end is gone.
   */
  async linkToRoot(
    host: Host,
    suffix: string,
    rootCidr: string,
    hostCidr: string,
    ifName = 'root',
  ): Promise<{ rootIf: string; hostIf: string }> {
    this.assertLive();
    const h = this.state(host);
    const rootIf = `${this.prefix}${suffix}`;
    if (!isIfName(rootIf)) throw new Error(`bad root interface name '${rootIf}' (at most 15 characters)`);
    const hostIf = this.ifNameFor(h, ifName, 'root');
    for (const c of [rootCidr, hostCidr])
      if (!/^[\d.]+\/\d{1,2}$/.test(c)) throw new Error(`bad IPv4 CIDR '${c}'`);
    this.rootIfs.add(rootIf); // recorded first so teardown removes it even if a later step fails
    await runOk('ip', ['link', 'add', 'name', rootIf, 'type', 'veth', 'peer', 'name', hostIf, 'netns', h.ns]);
    await runOk('ip', ['addr', 'add', rootCidr, 'dev', rootIf]);
    await runOk('ip', ['link', 'set', 'dev', rootIf, 'up']);
    await runOk('ip', ['-n', h.ns, 'addr', 'add', hostCidr, 'dev', hostIf]);
    await runOk('ip', ['-n', h.ns, 'link', 'set', 'dev', hostIf, 'up']);
    const address = hostCidr.split('/')[0] ?? hostCidr;
    h.interfaces.push({ name: hostIf, cidr: hostCidr, address, peerHost: 'root', peerIf: rootIf });
    h.addresses.push(address);
    return { rootIf, hostIf };
  }

  /**
   * Gives `host` more addresses of its own (each a /32 on its loopback): addresses local to the namespace that no
   * link leads to, e.g. the pod IPs of a cluster's pod network.
   */
  async addLocalAddresses(host: Host, addresses: readonly string[]): Promise<void> {
    this.assertLive();
    const h = this.state(host);
    for (const address of addresses) {
      if (!/^[\d.]+$/.test(address)) throw new Error(`bad IPv4 address '${address}'`);
      await runOk('ip', ['-n', h.ns, 'addr', 'add', `${address}/32`, 'dev', 'lo']);
      h.interfaces.push({ name: 'lo', cidr: `${address}/32`, address, peerHost: h.name, peerIf: 'lo' });
      h.addresses.push(address);
    }
  }

  /**
   * Adds (or replaces) a route on `host`: `dest` (CIDR or `default`) via gateway `via`. The lab remembers it and
   * re-installs it after linkUp() (the kernel deletes routes through an interface that goes down).
   */
  async addRoute(host: Host, dest: string, via: string, opts: { dev?: string } = {}): Promise<void> {
    this.assertLive();
    const h = this.state(host);
    const route = { dest, via, dev: opts.dev };
    await this.installRoute(h, route);
    h.routes.set(dest, route);
  }

  /** Sets the default route of `host` to gateway `via`. */
  async setDefaultRoute(host: Host, via: string): Promise<void> {
    await this.addRoute(host, 'default', via);
  }

  private async installRoute(h: HostState, r: { dest: string; via: string; dev?: string | undefined }) {
    const args = ['-n', h.ns, 'route', 'replace', r.dest, 'via', r.via];
    if (r.dev !== undefined) args.push('dev', r.dev);
    await runOk('ip', args);
  }

  /** `ip link set IF down` inside the host's namespace (routes through IF vanish until linkUp()). */
  async linkDown(host: Host, ifName: string): Promise<void> {
    this.assertLive();
    await runOk('ip', ['-n', this.state(host).ns, 'link', 'set', 'dev', ifName, 'down']);
  }

  /** `ip link set IF up` inside the host's namespace, then re-installs the routes added through the lab. */
  async linkUp(host: Host, ifName: string): Promise<void> {
    this.assertLive();
    const h = this.state(host);
    await runOk('ip', ['-n', h.ns, 'link', 'set', 'dev', ifName, 'up']);
    for (const r of h.routes.values()) {
      await waitFor(
        async () => {
          await this.installRoute(h, r);
          return true;
        },
        { what: `route ${r.dest} via ${r.via} on ${h.name} to be re-installed`, timeoutMs: 5000 },
      );
    }
  }

  /**
   * Installs an nftables rule set in the host's namespace so that nobody can dial in through `ifName`: packets
   * arriving on it are accepted only if they belong to established/related connections (input and forward).
   */
  async dropInbound(host: Host, ifName: string): Promise<void> {
    this.assertLive();
    const h = this.state(host);
    if (!isIfName(ifName)) throw new Error(`bad interface name '${ifName}'`);
    let script = '';
    if (!h.firewall) {
      script +=
        `table inet ${NFT_TABLE} {\n` +
        `  chain input { type filter hook input priority filter; policy accept; }\n` +
        `  chain forward { type filter hook forward priority filter; policy accept; }\n` +
        `}\n`;
    }
    for (const chain of ['input', 'forward']) {
      script += `add rule inet ${NFT_TABLE} ${chain} iifname "${ifName}" ct state established,related accept\n`;
      script += `add rule inet ${NFT_TABLE} ${chain} iifname "${ifName}" drop\n`;
    }
    await runOk('ip', ['netns', 'exec', h.ns, 'nft', '-f', '-'], { input: script });
    h.firewall = true;
  }

  /** Removes the firewall installed by dropInbound() (all interfaces of the host). */
  async clearFirewall(host: Host): Promise<void> {
    this.assertLive();
    const h = this.state(host);
    if (!h.firewall) return;
    await runOk('ip', ['netns', 'exec', h.ns, 'nft', 'delete', 'table', 'inet', NFT_TABLE]);
    h.firewall = false;
  }

  /** Turns on IPv4 forwarding inside the host's namespace. */
  async enableForwarding(host: Host): Promise<void> {
    this.assertLive();
    await runOk('ip', ['netns', 'exec', this.state(host).ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  }

  /** Runs `ip netns exec NS cmd args` to completion (see run(): resolves with code/stdout/stderr). */
  async exec(
    host: Host,
    cmd: string,
    args: readonly string[] = [],
    opts: RunOptions = {},
  ): Promise<RunResult> {
    this.assertLive();
    return run('ip', ['netns', 'exec', this.state(host).ns, cmd, ...args], opts);
  }

  /** Like exec() but rejects unless the command exits with code 0. */
  async execOk(
    host: Host,
    cmd: string,
    args: readonly string[] = [],
    opts: RunOptions = {},
  ): Promise<RunResult> {
    this.assertLive();
    return runOk('ip', ['netns', 'exec', this.state(host).ns, cmd, ...args], opts);
  }

  /** Starts a long-running process inside the host's namespace; destroy() stops it. Logs go to `logDir`. */
  spawn(
    host: Host,
    cmd: string,
    args: readonly string[] = [],
    opts: ManagedProcessOptions = {},
  ): ManagedProcess {
    this.assertLive();
    const h = this.state(host);
    const p = new ManagedProcess('ip', ['netns', 'exec', h.ns, cmd, ...args], {
      label: `${h.name}-${basename(cmd)}`,
      logDir: this.logDir,
      ...opts,
    });
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  /** Processes started through spawn() that are still running. */
  get processes(): ManagedProcess[] {
    return [...this.procs].filter((p) => p.running);
  }

  /**
   * Stops every process started through the lab (SIGTERM, SIGKILL after `graceMs`), kills anything else still
   * running inside the lab's namespaces, deletes the namespaces (veth pairs go with them) and the marker file.
   * Idempotent; concurrent calls share one teardown.
   */
  destroy(graceMs = 1500): Promise<void> {
    if (this.destroyedSync) return Promise.resolve();
    this.destroying ??= this.teardown(graceMs);
    return this.destroying;
  }

  private async teardown(graceMs: number): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all([...this.procs].map((p) => p.stop(graceMs)));
    // Also catches namespaces created by a failed addHost() and anything a crashed earlier step left behind.
    let names: string[] = [];
    try {
      names = (await listNamespaces()).filter((n) => n.startsWith(this.prefix));
    } catch (err) {
      errors.push(err);
      names = [...this.hostMap.values()].map((h) => h.ns);
    }
    for (const ns of names) {
      try {
        await removeNamespace(ns);
      } catch (err) {
        errors.push(err);
      }
    }
    for (const rootIf of this.rootIfs) {
      // normally gone with its peer's namespace
      const r = await run('ip', ['link', 'del', 'dev', rootIf], { timeoutMs: 10_000 });
      const still = await run('ip', ['link', 'show', 'dev', rootIf], { timeoutMs: 10_000 });
      if (r.code !== 0 && still.code === 0)
        errors.push(new Error(`ip link del ${rootIf} failed: ${r.stderr.trim()}`));
    }
    try {
      const left = (await listNamespaces()).filter((n) => n.startsWith(this.prefix));
      if (left.length > 0) errors.push(new Error(`namespaces still present: ${left.join(', ')}`));
      else unlinkSync(this.markerPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') errors.push(err);
    }
    labs.delete(this);
    this.unregister();
    if (errors.length > 0) throw new AggregateError(errors, `destroying lab ${this.name} failed`);
  }

  /** Synchronous, SIGKILL-only variant of destroy() for exit and signal handlers. */
  destroySync(): void {
    if (this.destroyedSync) return;
    this.destroyedSync = true;
    for (const p of this.procs) p.kill('SIGKILL');
    let names = [...this.hostMap.values()].map((h) => h.ns);
    try {
      names = parseNetnsList(sh('ip', ['netns', 'list'])).filter((n) => n.startsWith(this.prefix));
    } catch {
      // fall back to the names we know
    }
    for (const ns of names) removeNamespaceSync(ns);
    for (const rootIf of this.rootIfs) {
      try {
        sh('ip', ['link', 'del', 'dev', rootIf]);
      } catch {
        // gone with its peer's namespace
      }
    }
    try {
      unlinkSync(this.markerPath);
    } catch {
      // already gone
    }
    labs.delete(this);
    this.unregister();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Services commonly needed inside namespaces

/**
 * Starts `redis-server` inside `host` bound to `bindAddr:port` (no persistence) and waits until
 * `redis-cli -h bindAddr -p port ping` inside the namespace answers PONG.
 */
export async function startRedis(
  lab: NetLab,
  host: Host,
  bindAddr: string,
  port: number,
  opts: { timeoutMs?: number } = {},
): Promise<ManagedProcess> {
  const dir = join(lab.logDir, `redis-${host.name}-${port}`);
  mkdirSync(dir, { recursive: true });
  const proc = lab.spawn(
    host,
    'redis-server',
    [
      '--save',
      '',
      '--appendonly',
      'no',
      '--bind',
      bindAddr,
      '--port',
      String(port),
      '--protected-mode',
      'no',
      '--daemonize',
      'no',
      '--dir',
      dir,
    ],
    { label: `${host.name}-redis-${port}` },
  );
  await waitFor(
    async () => {
      if (!proc.running) throw new Error(`redis-server exited: ${proc.tail(10)}`);
      const r = await lab.exec(host, 'redis-cli', ['-h', bindAddr, '-p', String(port), 'ping'], {
        timeoutMs: 3000,
      });
      if (r.stdout.trim() === 'PONG') return true;
      throw new Error(`redis-cli ping: ${(r.stdout + r.stderr).trim()}`);
    },
    {
      what: `redis-server on ${host.name} ${bindAddr}:${port} to answer PING`,
      timeoutMs: opts.timeoutMs ?? 10_000,
    },
  );
  return proc;
}

const TCP_SERVER_JS = `
const net = require('node:net');
const [host, port, reply] = process.argv.slice(1);
const server = net.createServer((s) => { s.on('error', () => {}); s.end(reply); });
server.listen(Number(port), host, () => console.log('listening ' + host + ':' + server.address().port));
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * Starts a tiny TCP server inside `host` on `bindAddr:port` that answers every connection with `reply` and closes
 * it. Resolves once it is listening.
 */
export async function startTcpServer(
  lab: NetLab,
  host: Host,
  bindAddr: string,
  port: number,
  reply: string,
): Promise<ManagedProcess> {
  const proc = lab.spawn(host, process.execPath, ['-e', TCP_SERVER_JS, bindAddr, String(port), reply], {
    label: `${host.name}-tcpserver-${port}`,
  });
  await proc.waitForOutput(/^listening /m);
  return proc;
}

const TCP_PROBE_JS = `
const net = require('node:net');
const [host, port, send, timeoutMs] = process.argv.slice(1);
let data = '';
let connected = false;
let done = false;
const finish = (r) => { if (done) return; done = true; clearTimeout(timer); console.log(JSON.stringify(r)); sock.destroy(); process.exit(0); };
const sock = net.connect({ host, port: Number(port) });
const timer = setTimeout(() => finish(connected ? { ok: true, data } : { ok: false, error: 'ETIMEDOUT' }), Number(timeoutMs));
sock.setEncoding('utf8');
sock.on('connect', () => { connected = true; if (send) sock.write(send); });
sock.on('data', (d) => { data += d; finish({ ok: true, data }); });
sock.on('end', () => finish({ ok: true, data }));
sock.on('error', (e) => finish(connected && data ? { ok: true, data } : { ok: false, error: e.code || e.message }));
`;

export type TcpProbeResult = { ok: true; data: string } | { ok: false; error: string };

/**
 * From inside `host`, opens a TCP connection to `addr:port`, optionally writes `send`, and reports the first data
 * received (`data` is '' if the peer closed or stayed silent until `timeoutMs`) — or, if no connection could be
 * established, the error code (`ETIMEDOUT` if the connect did not complete within `timeoutMs`, default 2000).
 */
export async function tcpProbe(
  lab: NetLab,
  host: Host,
  addr: string,
  port: number,
  opts: { send?: string; timeoutMs?: number } = {},
): Promise<TcpProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const r = await lab.execOk(
    host,
    process.execPath,
    ['-e', TCP_PROBE_JS, addr, String(port), opts.send ?? '', String(timeoutMs)],
    { timeoutMs: timeoutMs + 15_000 },
  );
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as TcpProbeResult;
}
