/**
 * Builds real site directories for tests: resources as YAML files, a CA and server certificate for sites that
 * accept links, and client certificates issued by the accepting site's CA for each Link — exactly what
 * `caravan token redeem` will produce. Starts real router processes on them.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { AdminClient } from '../../src/admin/client.js';
import type { StatusSnapshot } from '../../src/admin/types.js';
import { ROUTER_NODE_FLAGS } from '../../src/site/node-flags.js';
import { createCa, issueCertificate, type CertAndKey } from '../../src/site/certs/index.js';
import { generateIdentity } from '../../src/identity.js';
import { siteOfRouter } from '../../src/cli/names.js';
import { repoRoot, spawnManaged, type ManagedProcess, type ManagedProcessOptions } from './proc.js';
import { waitFor } from './wait.js';

const API = 'caravan.dev/v1alpha1';

export interface SiteDef {
  name: string;
  mode?: 'interior' | 'edge';
  /** grantPort defaults to 0 here (a free port), so concurrent tests never collide on 55672 */
  linkAccess?: { host: string; port: number; grantPort?: number; hosts?: string[] };
  helloIntervalMs?: number;
  deadIntervalMs?: number;
  /** more Site spec fields (e.g. `limits`, `console`) */
  spec?: Record<string, unknown>;
  /** Site spec.peerLimits */
  peerLimits?: Record<string, number>;
}

export interface ListenerDef {
  name: string;
  port: number;
  host?: string;
  routingKey?: string;
  distribution?: 'balanced' | 'closest';
  earlyData?: boolean;
}

export interface ConnectorDef {
  name: string;
  port: number;
  host?: string;
  routingKey?: string;
}

export async function makeTempRoot(label: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `cv-${label}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export class TestSite {
  ca: CertAndKey | undefined;
  private constructor(
    readonly name: string,
    readonly dir: string,
    /** the router id, derived from the identity key written to runtime/identity.key */
    readonly routerId: string,
  ) {}

  static async create(root: string, def: SiteDef): Promise<TestSite> {
    const dir = join(root, def.name);
    await mkdir(join(dir, 'resources'), { recursive: true });
    await mkdir(join(dir, 'runtime'), { recursive: true });
    await mkdir(join(dir, 'logs'), { recursive: true });
    const { identity, pem } = generateIdentity(def.name);
    await writeFile(join(dir, 'runtime', 'identity.key'), pem, { mode: 0o600 });
    const site = new TestSite(def.name, dir, identity.routerId);
    const hello = def.helloIntervalMs ?? 100;
    const spec: Record<string, unknown> = {
      mode: def.mode ?? 'interior',
      // a dead interval of at least 1 s keeps links up when a loaded test machine stalls a router briefly
      routing: { helloIntervalMs: hello, deadIntervalMs: def.deadIntervalMs ?? Math.max(1000, hello * 3) },
    };
    if (def.peerLimits) spec.peerLimits = def.peerLimits;
    if (def.linkAccess) {
      spec.linkAccess = { grantPort: 0, ...def.linkAccess };
      site.ca = await createCa({ commonName: `${def.name} site CA` });
      const server = await issueCertificate(site.ca, {
        commonName: identity.routerId,
        subject: { commonName: identity.routerId, organization: def.name },
        usage: 'server',
      });
      await writeFile(join(dir, 'runtime', 'ca.crt'), site.ca.certPem);
      await writeFile(join(dir, 'runtime', 'ca.key'), site.ca.keyPem, { mode: 0o600 });
      await writeFile(join(dir, 'runtime', 'server.crt'), server.certPem);
      await writeFile(join(dir, 'runtime', 'server.key'), server.keyPem, { mode: 0o600 });
    }
    await site.writeResource('Site', def.name, { ...spec, ...def.spec });
    return site;
  }

  get adminSocket(): string {
    return join(this.dir, 'runtime', 'admin.sock');
  }

  admin(): AdminClient {
    return new AdminClient(this.adminSocket);
  }

  status(): Promise<StatusSnapshot> {
    return this.admin().status();
  }

  async writeResource(kind: string, name: string, spec: Record<string, unknown>): Promise<void> {
    const doc = { apiVersion: API, kind, metadata: { name }, spec };
    await writeFile(join(this.dir, 'resources', `${kind.toLowerCase()}-${name}.yaml`), stringify(doc));
  }

  /**
   * A Link from this site to `hub`: a client certificate issued by the hub's CA (or by `issuer`, to test
   * refusals) and the Link resource.
   */
  async linkTo(
    hub: TestSite,
    opts: {
      name?: string;
      endpoints: Array<{ host: string; port: number }>;
      cost?: number;
      issuer?: CertAndKey;
      /** the client certificate's CN (default this router's id; other names test refusals) */
      commonName?: string;
    },
  ): Promise<string> {
    const name = opts.name ?? `to-${hub.name}`;
    const issuer = opts.issuer ?? hub.ca;
    if (!issuer || !hub.ca) throw new Error(`site ${hub.name} does not accept links`);
    const cn = opts.commonName ?? this.routerId;
    const client = await issueCertificate(issuer, {
      commonName: cn,
      subject: { commonName: cn, organization: this.name },
      usage: 'client',
    });
    const tlsDir = join(this.dir, 'runtime', 'links', name);
    await mkdir(tlsDir, { recursive: true });
    await writeFile(join(tlsDir, 'ca.crt'), hub.ca.certPem);
    await writeFile(join(tlsDir, 'client.crt'), client.certPem);
    await writeFile(join(tlsDir, 'client.key'), client.keyPem, { mode: 0o600 });
    await this.writeResource('Link', name, {
      endpoints: opts.endpoints,
      cost: opts.cost ?? 1,
      tls: {
        ca: `runtime/links/${name}/ca.crt`,
        cert: `runtime/links/${name}/client.crt`,
        key: `runtime/links/${name}/client.key`,
      },
    });
    return name;
  }

  addListener(l: ListenerDef): Promise<void> {
    return this.writeResource('Listener', l.name, {
      port: l.port,
      host: l.host ?? '127.0.0.1',
      routingKey: l.routingKey ?? l.name,
      distribution: l.distribution ?? 'balanced',
      ...(l.earlyData !== undefined ? { earlyData: l.earlyData } : {}),
    });
  }

  addConnector(c: ConnectorDef): Promise<void> {
    return this.writeResource('Connector', c.name, {
      port: c.port,
      host: c.host ?? '127.0.0.1',
      routingKey: c.routingKey ?? c.name,
    });
  }

  routerArgs(): string[] {
    return [
      ...ROUTER_NODE_FLAGS,
      join(repoRoot, 'bin', 'caravan-router.js'),
      '--dir',
      this.dir,
      '--log-level',
      'debug',
    ];
  }

  /** Start the router as a real process on this machine (integration tests). */
  start(opts: ManagedProcessOptions = {}): ManagedProcess {
    return spawnManaged(process.execPath, this.routerArgs(), { label: `router-${this.name}`, ...opts });
  }

  /** Wait until the router answers on its admin socket. */
  async ready(timeoutMs = 15_000): Promise<StatusSnapshot> {
    // a site that accepts links is ready once it reports its link access port
    return waitFor(
      async () => {
        const s = await this.status().catch(() => undefined);
        return s && (!this.ca || s.router.linkAccess) ? s : undefined;
      },
      {
        timeoutMs,
        what: `router ${this.name} to answer`,
      },
    );
  }

  /** Wait until this router has a route to every named router (by router id or by site name). */
  async routesTo(routers: string[], timeoutMs = 15_000): Promise<StatusSnapshot> {
    return waitFor(
      async () => {
        const s = await this.status().catch(() => undefined);
        if (!s) return undefined;
        const have = new Set(s.routes.flatMap((r) => [r.dest, siteOfRouter(r.dest)]));
        return routers.every((r) => have.has(r)) ? s : undefined;
      },
      { timeoutMs, what: `router ${this.name} to have routes to ${routers.join(', ')}` },
    );
  }

  /** Wait until some router advertising `key` is in this router's address table. */
  async seesKey(key: string, count = 1, timeoutMs = 15_000): Promise<StatusSnapshot> {
    return waitFor(
      async () => {
        const s = await this.status().catch(() => undefined);
        const a = s?.addresses.find((x) => x.key === key);
        return a && a.destinations.length >= count ? s : undefined;
      },
      { timeoutMs, what: `router ${this.name} to see ${count} destination(s) for '${key}'` },
    );
  }
}

/** The site name of a router id (undefined stays undefined): tests compare neighbors and routes by site. */
export function siteOf(routerId: string | undefined): string | undefined {
  return routerId === undefined ? undefined : siteOfRouter(routerId);
}
