/**
 * `npm run demo`: a small Caravan network on this machine. Three sites, each its own router process on
 * loopback: `hub` accepts links, `west` and `east` only dial out to it. A sample HTTP service runs behind a
 * connector at east; a listener at west exposes it. Ctrl-C stops everything and removes the demo's files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdminClient } from '../admin/client.js';
import { API_VERSION, toYaml, type Resource } from '../api/index.js';
import { errorMessage } from '../errors.js';
import { createCa, issueCertificate } from '../site/certs/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const routerBin = join(here, '..', '..', '..', 'bin', 'caravan-router.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

async function writeSite(root: string, name: string, resources: Resource[]): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, 'resources'), { recursive: true });
  await mkdir(join(dir, 'runtime'), { recursive: true, mode: 0o700 });
  await mkdir(join(dir, 'logs'), { recursive: true });
  for (const r of resources) {
    await writeFile(join(dir, 'resources', `${r.kind.toLowerCase()}-${r.metadata.name}.yaml`), toYaml(r));
  }
  return dir;
}

function meta(name: string): { name: string } {
  return { name };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'caravan-demo-'));
  const children: ChildProcess[] = [];
  let app: http.Server | undefined;
  let stopping = false;
  const cleanup = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(
      children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
    );
    app?.close();
    await rm(root, { recursive: true, force: true });
  };

  try {
    const hubPort = await freePort();
    const appPort = await freePort();
    const listenPort = await freePort();

    // hub: accepts links with its own CA; west and east get client certificates issued by it
    const ca = await createCa({ commonName: 'hub site CA' });
    const server = await issueCertificate(ca, { commonName: 'hub', usage: 'server' });
    const routing = { helloIntervalMs: 1000, deadIntervalMs: 3000 };
    const hubDir = await writeSite(root, 'hub', [
      {
        apiVersion: API_VERSION,
        kind: 'Site',
        metadata: meta('hub'),
        spec: {
          mode: 'interior',
          linkAccess: { host: '127.0.0.1', port: hubPort },
          routing,
          tls: { ca: 'runtime/ca.crt', cert: 'runtime/server.crt', key: 'runtime/server.key' },
        },
      },
    ]);
    await writeFile(join(hubDir, 'runtime', 'ca.crt'), ca.certPem);
    await writeFile(join(hubDir, 'runtime', 'server.crt'), server.certPem);
    await writeFile(join(hubDir, 'runtime', 'server.key'), server.keyPem, { mode: 0o600 });

    const dirs: Record<string, string> = { hub: hubDir };
    for (const name of ['west', 'east']) {
      const tls = {
        ca: 'runtime/links/to-hub/ca.crt',
        cert: 'runtime/links/to-hub/client.crt',
        key: 'runtime/links/to-hub/client.key',
      };
      const res: Resource[] = [
        { apiVersion: API_VERSION, kind: 'Site', metadata: meta(name), spec: { mode: 'interior', routing } },
        {
          apiVersion: API_VERSION,
          kind: 'Link',
          metadata: meta('to-hub'),
          spec: { endpoints: [{ host: '127.0.0.1', port: hubPort }], cost: 1, tls },
        },
      ];
      if (name === 'east') {
        res.push({
          apiVersion: API_VERSION,
          kind: 'Connector',
          metadata: meta('hello'),
          spec: { routingKey: 'hello', host: '127.0.0.1', port: appPort, type: 'tcp' },
        });
      } else {
        res.push({
          apiVersion: API_VERSION,
          kind: 'Listener',
          metadata: meta('hello'),
          spec: {
            routingKey: 'hello',
            host: '127.0.0.1',
            port: listenPort,
            type: 'tcp',
            distribution: 'balanced',
          },
        });
      }
      const dir = await writeSite(root, name, res);
      const client = await issueCertificate(ca, { commonName: name, usage: 'client' });
      await mkdir(join(dir, 'runtime', 'links', 'to-hub'), { recursive: true });
      await writeFile(join(dir, tls.ca), ca.certPem);
      await writeFile(join(dir, tls.cert), client.certPem);
      await writeFile(join(dir, tls.key), client.keyPem, { mode: 0o600 });
      dirs[name] = dir;
    }

    // the sample service, reachable only through the network as 'hello'
    app = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`Hello from east, through Caravan! You asked for ${req.url}\n`);
    });
    await new Promise<void>((r) => app!.listen(appPort, '127.0.0.1', () => r()));

    for (const [name, dir] of Object.entries(dirs)) {
      const c = spawn(
        process.execPath,
        [routerBin, '--dir', dir, '--log-level', process.env.CARAVAN_LOG_LEVEL ?? 'warn'],
        {
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
      c.on('exit', (code, sig) => {
        if (!stopping) process.stderr.write(`demo: router ${name} exited (${sig ?? code})\n`);
      });
      children.push(c);
    }

    const west = new AdminClient(join(dirs.west!, 'runtime', 'admin.sock'));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = await west.status().catch(() => undefined);
      if (s?.listeners.some((l) => l.name === 'hello' && l.matched)) break;
      if (Date.now() > deadline) throw new Error('the demo network did not come up within 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }

    process.stdout.write(
      [
        '',
        'Caravan demo network is up: three routers on this machine.',
        `  hub   accepts links on 127.0.0.1:${hubPort}`,
        `  west  dials out to hub; listener 'hello' on 127.0.0.1:${listenPort}`,
        `  east  dials out to hub; connector 'hello' -> 127.0.0.1:${appPort} (a sample HTTP service)`,
        '',
        'Try:',
        `  curl http://127.0.0.1:${listenPort}/`,
        `  curl -s --unix-socket ${join(dirs.west!, 'runtime', 'admin.sock')} http://router/v1/status`,
        '',
        'Press Ctrl-C to stop; the demo removes everything it created.',
        '',
      ].join('\n'),
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    process.stdout.write('\nstopping the demo network...\n');
    await cleanup();
  } catch (e) {
    process.stderr.write(`error: ${errorMessage(e)}\n`);
    await cleanup();
    process.exitCode = 1;
  }
}

void main();
