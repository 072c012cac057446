import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { API_VERSION, type Resource } from '../../api/index.js';
import { CaravanError, ErrorCodes, errorMessage } from '../../errors.js';
import { issueToken, redeemToken, writeTokenFile } from '../../site/grants/index.js';
import { optBool, type CommandSpec } from '../command.js';
import { applyResources } from '../resources.js';
import { adminClient, CLI_BIN, removePid, routerArgs, routerLogFile, writePid } from '../router.js';
import { siteDirOf, type SiteRef } from '../sites.js';
import { buildSite, createSite } from './site-create.js';

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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitUntil<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new CaravanError(
        ErrorCodes.SITE_NOT_RUNNING,
        `the demo network did not come up: timed out waiting for ${what}`,
      );
    await sleep(150);
  }
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/demo', timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject)
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error('timeout'));
      });
  });
}

export const demo: CommandSpec = {
  name: 'demo',
  summary: 'run a small network of three sites on this machine (Ctrl-C stops it and removes everything)',
  description:
    'Creates sites hub (accepts links), west and east (dial out only) in a temporary home, starts their\n' +
    'routers on loopback, links west and east to hub by issuing and redeeming tokens, runs a sample HTTP\n' +
    'service behind a connector at east and exposes it with a listener at west. With --check it makes one\n' +
    'request through the network, prints the answer and stops.',
  options: { check: { type: 'boolean', help: 'bring the network up, make one request through it, stop' } },
  examples: ['caravan demo', 'caravan demo --check'],
  async run(ctx) {
    const out = ctx.out;
    const home = await mkdtemp(join(tmpdir(), 'caravan-demo-'));
    const children: Array<{ site: SiteRef; proc: ChildProcess }> = [];
    let app: http.Server | undefined;
    let stopping = false;
    const cleanup = async (): Promise<void> => {
      if (stopping) return;
      stopping = true;
      for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGTERM');
      await Promise.all(
        children.map(
          (c) =>
            new Promise((r) => {
              if (c.proc.exitCode !== null || c.proc.signalCode !== null) return r(null);
              const t = setTimeout(() => c.proc.kill('SIGKILL'), 8000);
              c.proc.once('exit', () => {
                clearTimeout(t);
                r(null);
              });
            }),
        ),
      );
      await new Promise<void>((r) => (app ? app.close(() => r()) : r()));
      app?.closeAllConnections();
      await rm(home, { recursive: true, force: true });
    };
    const onSignal = (): void => undefined;
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const [linkPort, grantPort, appPort, listenPort, consolePort] = [
        await freePort(),
        await freePort(),
        await freePort(),
        await freePort(),
        await freePort(),
      ] as [number, number, number, number, number];
      out.note(`demo: creating sites hub, west and east in ${home}`);
      const sites: Record<string, SiteRef> = {};
      for (const name of ['hub', 'west', 'east']) {
        const site =
          name === 'hub'
            ? buildSite(name, {
                linkAccess: true,
                bind: '127.0.0.1',
                port: linkPort,
                grantPort,
                hosts: ['127.0.0.1'],
                consolePort,
              })
            : buildSite(name, {});
        await createSite(home, site);
        sites[name] = { name, dir: siteDirOf(home, name) };
      }
      const start = async (site: SiteRef): Promise<void> => {
        const fd = openSync(routerLogFile(site.dir), 'a', 0o600);
        const proc = spawn(process.execPath, routerArgs(site.dir, ctx.env.CARAVAN_LOG_LEVEL ?? 'info'), {
          stdio: ['ignore', fd, fd],
          env: ctx.env,
        });
        closeSync(fd);
        children.push({ site, proc });
        if (proc.pid !== undefined) await writePid(site.dir, proc.pid);
        proc.on('exit', (code, sig) => {
          if (!stopping)
            out.note(`demo: router of ${site.name} exited (${sig ?? code}); see ${routerLogFile(site.dir)}`);
          if (proc.pid !== undefined) void removePid(site.dir, proc.pid);
        });
        const client = await adminClient(site.dir, 2000);
        await waitUntil(`the router of ${site.name} to answer`, 30_000, async () => {
          if (proc.exitCode !== null)
            throw new CaravanError(ErrorCodes.SITE_NOT_RUNNING, `router of ${site.name} exited`);
          return client.status();
        });
      };
      out.note('demo: starting three routers');
      for (const s of Object.values(sites)) await start(s);

      // link west and east to hub, like a user: a token issued at hub, redeemed at the other site
      for (const name of ['west', 'east']) {
        const { token } = await issueToken(sites.hub!.dir, { expiry: '5m', name: `for-${name}` });
        const file = join(home, `${name}.token`);
        await writeTokenFile(file, token);
        await redeemToken(sites[name]!.dir, token, { linkName: 'hub' });
        out.note(`demo: ${name} redeemed a token issued by hub (link 'hub')`);
      }

      app = http.createServer((req, res) => {
        res.setHeader('content-type', 'text/plain');
        res.end(`Hello from east, through Caravan! You asked for ${req.url}\n`);
      });
      await new Promise<void>((r) => app!.listen(appPort, '127.0.0.1', () => r()));
      const svc = (kind: 'Connector' | 'Listener', port: number): Resource =>
        ({
          apiVersion: API_VERSION,
          kind,
          metadata: { name: 'hello' },
          spec: { routingKey: 'hello', host: '127.0.0.1', port },
        }) as Resource;
      await applyResources(sites.east!.dir, 'east', [
        { resource: svc('Connector', appPort), source: 'demo' },
      ]);
      await applyResources(sites.west!.dir, 'west', [
        { resource: svc('Listener', listenPort), source: 'demo' },
      ]);

      const west = await adminClient(sites.west!.dir, 2000);
      await waitUntil('the listener at west to match the connector at east', 45_000, async () => {
        const s = await west.status();
        return s.listeners.some((l) => l.name === 'hello' && l.matched) ? true : undefined;
      });

      const cli = relative(ctx.cwd, CLI_BIN);
      const bin = cli.startsWith('..') ? CLI_BIN : cli;
      if (optBool(ctx, 'check')) {
        const body = await waitUntil('an answer through the network', 15_000, () => httpGet(listenPort));
        out.line(body.trimEnd());
        await cleanup();
        return 0;
      }
      out.line(
        [
          '',
          'Caravan demo network is up: three sites, each its own router process on this machine.',
          `  hub   accepts links on 127.0.0.1:${linkPort} (grant server on ${grantPort})`,
          `  west  dials out to hub; listener 'hello' on 127.0.0.1:${listenPort}`,
          `  east  dials out to hub; connector 'hello' -> 127.0.0.1:${appPort} (a sample HTTP service)`,
          '',
          'Try:',
          `  curl http://127.0.0.1:${listenPort}/`,
          `  open http://127.0.0.1:${consolePort}/ in a browser: the web console (topology, services, traffic, flows)`,
          `  curl -s http://127.0.0.1:${consolePort}/metrics | grep caravan_flows`,
          `  node ${bin} network status --home ${home} --site west`,
          `  node ${bin} status --home ${home} --site hub`,
          `  node ${bin} link list --home ${home} --site hub`,
          '',
          'Press Ctrl-C to stop; the demo removes everything it created.',
          '',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      out.line('\nstopping the demo network...');
      await cleanup();
      out.line('stopped; nothing left behind.');
      return 0;
    } catch (e) {
      out.note(`demo: ${errorMessage(e)}`);
      await cleanup();
      throw e;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
