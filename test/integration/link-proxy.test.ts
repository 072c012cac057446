/**
 * Links through an HTTP proxy, with a real proxy (Debian's tinyproxy, CONNECT) and two real routers: the token is
 * redeemed through the proxy, the link dials through it and carries TCP, wrong proxy credentials show in the link's
 * last error (tinyproxy answers them with 401, other proxies with 407), right ones bring it up, and the link goes
 * down when the proxy does.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LinkResource } from '../../src/api/index.js';
import { issueToken, redeemToken } from '../../src/site/grants/index.js';
import type { ManagedProcess } from '../support/proc.js';
import { spawnManaged, stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { freePort } from '../support/ports.js';

const HOST = '127.0.0.1';
const LONG = { timeout: 120_000 };

async function tinyproxy(
  dir: string,
  name: string,
  auth?: string,
): Promise<{ proc: ManagedProcess; port: number }> {
  const port = await freePort();
  const conf = join(dir, `${name}.conf`);
  // no ConnectPort line: CONNECT to any port (the link and grant ports are not 443)
  const lines = [
    `Port ${port}`,
    `Listen ${HOST}`,
    'Timeout 60',
    `Allow ${HOST}`,
    'LogLevel Connect',
    'MaxClients 20',
  ];
  if (auth) lines.push(`BasicAuth ${auth}`);
  await writeFile(conf, lines.join('\n') + '\n');
  const proc = spawnManaged('tinyproxy', ['-d', '-c', conf], { label: name, logDir: join(dir, 'logs') });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect({ host: HOST, port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    { what: `${name} to listen on ${port}` },
  );
  return { proc, port };
}

function echoServer(): Promise<{ server: net.Server; port: number }> {
  return new Promise((resolve) => {
    const server = net.createServer((s) => {
      s.on('error', () => undefined); // the router resets flows when it stops
      s.pipe(s);
    });
    server.listen(0, HOST, () => resolve({ server, port: (server.address() as net.AddressInfo).port }));
  });
}

function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port }, () => s.end(text));
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
}

describe('links through an HTTP proxy (tinyproxy)', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let hub: TestSite;
  let west: TestSite;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let open: Awaited<ReturnType<typeof tinyproxy>>;
  let guarded: Awaited<ReturnType<typeof tinyproxy>>;
  let link: LinkResource;
  let linkPort: number;
  let grantPort: number;
  let westListen: number;

  const westLink = async () =>
    (await west.status()).links.find((l) => l.name === 'hub' && l.direction === 'out');
  const setProxy = (proxy: string): Promise<void> =>
    west.writeResource('Link', 'hub', { ...link.spec, proxy });

  before(async () => {
    root = await makeTempRoot('proxy');
    open = await tinyproxy(root.dir, 'tinyproxy-open');
    guarded = await tinyproxy(root.dir, 'tinyproxy-auth', 'alice s3cret');
    echo = await echoServer();
    linkPort = await freePort();
    grantPort = await freePort();
    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: HOST, port: linkPort, grantPort },
    });
    await hub.addConnector({ name: 'echo', port: echo.port });
    hub.start();
    await hub.ready(30_000);
    west = await TestSite.create(root.dir, { name: 'west' });
    westListen = await freePort();
    await west.addListener({ name: 'echo', port: westListen });
    west.start();
    await west.ready(30_000);
  });

  after(async () => {
    await stopAllProcesses();
    echo?.server.close();
    await root?.remove();
  });

  test('the token is redeemed through the proxy and the link dials through it', LONG, async () => {
    const { token } = await issueToken(hub.dir, { redemptions: 1, expiry: '10m' });
    link = await redeemToken(west.dir, token, { proxy: `http://${HOST}:${open.port}` });
    assert.equal(link.spec.proxy, `http://${HOST}:${open.port}`, 'the Link keeps the proxy');
    await open.proc.waitForOutput(new RegExp(`CONNECT 127\\.0\\.0\\.1:${grantPort} `));
    await waitFor(async () => (await westLink())?.state === 'up', {
      what: 'the link to come up',
      timeoutMs: 20_000,
    });
    await open.proc.waitForOutput(new RegExp(`CONNECT 127\\.0\\.0\\.1:${linkPort} `));
    assert.equal((await westLink())?.proxy, `http://${HOST}:${open.port}`, 'status names the proxy');
    await west.seesKey('echo');
    assert.equal(await roundTrip(westListen, 'through the proxy'), 'through the proxy');
  });

  test(
    'wrong proxy credentials: the link stays down and says so; the right ones bring it up',
    LONG,
    async () => {
      await setProxy(`http://alice:wrong@${HOST}:${guarded.port}`);
      await waitFor(
        async () => /40[17] .*wrong or missing credentials/.test((await westLink())?.lastError ?? ''),
        {
          what: 'the refused credentials in the link error',
          timeoutMs: 20_000,
        },
      );
      assert.notEqual((await westLink())?.state, 'up');
      const shown = (await westLink())?.proxy ?? '';
      assert.ok(!shown.includes('wrong'), `the password is not shown (${shown})`);

      await setProxy(`http://alice:s3cret@${HOST}:${guarded.port}`);
      await waitFor(async () => (await westLink())?.state === 'up', {
        what: 'the link to come up',
        timeoutMs: 30_000,
      });
      await guarded.proc.waitForOutput(new RegExp(`CONNECT 127\\.0\\.0\\.1:${linkPort} `));
      await west.seesKey('echo');
      assert.equal(await roundTrip(westListen, 'authenticated'), 'authenticated');
    },
  );

  test('the link goes down with the proxy, and says why', LONG, async () => {
    await guarded.proc.stop(5000);
    await waitFor(async () => (await westLink())?.state !== 'up', {
      what: 'the link to go down',
      timeoutMs: 20_000,
    });
    await waitFor(async () => /proxy/.test((await westLink())?.lastError ?? ''), {
      what: 'the link error to name the proxy',
      timeoutMs: 20_000,
    });
  });
});
