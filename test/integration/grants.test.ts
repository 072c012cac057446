/**
 * Access grants and tokens, revocation and certificate renewal with real router processes, real TLS and the real
 * HTTPS grant server: issue at a hub, redeem at other sites, links come up and carry TCP; used-up, expired,
 * tampered, unknown and unreachable tokens fail with their code and write nothing; revoking one site cuts only
 * its link; short-lived certificates are renewed under a running flow without dropping the link.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';
import { certificateInfo } from '../../src/site/certs/index.js';
import {
  issueToken,
  parseToken,
  redeemToken,
  readTokenFile,
  writeTokenFile,
} from '../../src/site/grants/index.js';
import type { AccessTokenResource } from '../../src/api/index.js';
import type { ManagedProcess } from '../support/proc.js';
import { stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite, siteOf } from '../support/sites.js';
import { waitFor } from '../support/wait.js';
import { freePort } from '../support/ports.js';

function echoServer(): Promise<{ server: net.Server; port: number }> {
  return new Promise((resolve) => {
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.pipe(s);
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port }),
    );
  });
}

/** One short request/answer through a listener. */
function echoOnce(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    c.setEncoding('utf8');
    c.on('connect', () => c.write(text));
    c.on('data', (d: string) => {
      got += d;
      if (got.length >= text.length) {
        c.end();
        resolve(got);
      }
    });
    c.on('error', reject);
    c.setTimeout(10_000, () => c.destroy(new Error('echo timed out')));
  });
}

/** Files (path → size and mtime) under a site's resources/ and runtime/links/. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const st = await stat(p);
        out.push(`${relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  await walk(join(dir, 'resources'));
  await walk(join(dir, 'runtime', 'links'));
  return out.sort();
}

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(isCaravanError(e), `a CaravanError (got ${String(e)})`);
    assert.equal(e.code, code, `code ${code} (got ${e.code}: ${e.message})`);
    assert.ok(!e.message.includes('\n'), `one-line message: ${e.message}`);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

/** POSTs a JSON body to a grant server (its certificate is not checked: this client is a stranger). */
function postGrant(url: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = https.request(
      url,
      {
        method: 'POST',
        rejectUnauthorized: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const LONG = { timeout: 180_000 };

describe('access grants, tokens, revocation and renewal', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let hub: TestSite;
  let hubProc: ManagedProcess;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let west: TestSite;
  let westListen: number;
  let firstToken: AccessTokenResource;

  before(async () => {
    root = await makeTempRoot('grants');
    echo = await echoServer();
    hub = await TestSite.create(root.dir, {
      name: 'hub',
      linkAccess: { host: '127.0.0.1', port: await freePort(), grantPort: await freePort() },
    });
    await hub.addConnector({ name: 'echo', port: echo.port });
    hubProc = hub.start();
    const hs = await hub.ready(30_000);
    assert.ok(hs.router.grantServer?.port, 'the hub reports its grant server');

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

  test('issue at the hub, redeem at a running site: the link comes up and TCP crosses it', LONG, async () => {
    const { grant, token } = await issueToken(hub.dir, { redemptions: 1, expiry: '10m' });
    firstToken = token;
    assert.equal(grant.spec.code, undefined, 'the grant stores no clear-text code');
    assert.match(grant.spec.codeHash ?? '', /^[0-9a-f]{64}$/);
    assert.match(
      token.spec.url,
      new RegExp(`^https://127\\.0\\.0\\.1:\\d+/v1/grants/${grant.metadata.name}$`),
    );
    const grantText = await readFile(
      join(hub.dir, 'resources', `accessgrant-${grant.metadata.name}.yaml`),
      'utf8',
    );
    assert.ok(!grantText.includes(token.spec.code), 'the code is not in resources/');

    // the token travels as a file
    const file = join(root.dir, 'hub.token');
    await writeTokenFile(file, token);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const read = await readTokenFile(file);
    assert.deepEqual(read.spec, token.spec);

    const link = await redeemToken(west.dir, read);
    assert.equal(link.metadata.name, 'hub');
    assert.equal(link.spec.endpoints[0]?.host, '127.0.0.1');
    const cert = certificateInfo(await readFile(join(west.dir, 'runtime/links/hub/client.crt'), 'utf8'));
    assert.equal(cert.commonName, west.routerId);
    assert.match(cert.subject, /O=west/);
    const keyMode = (await stat(join(west.dir, 'runtime/links/hub/client.key'))).mode & 0o777;
    assert.equal(keyMode, 0o600);

    await west.seesKey('echo', 1, 30_000);
    assert.equal(
      await echoOnce(westListen, 'hello through a redeemed link'),
      'hello through a redeemed link',
    );
    await hubProc.waitForOutput(/access grant redeemed .*site=west/);
  });

  test('a used-up token fails with GRANT_USED_UP and writes nothing', LONG, async () => {
    const other = await TestSite.create(root.dir, { name: 'other' });
    const before = await snapshot(other.dir);
    await rejectsWith(redeemToken(other.dir, firstToken), ErrorCodes.GRANT_USED_UP, /used up/);
    assert.deepEqual(await snapshot(other.dir), before, 'nothing written');
    // and at the site that redeemed it, a second redemption writes nothing either
    const westBefore = await snapshot(west.dir);
    await rejectsWith(redeemToken(west.dir, firstToken), ErrorCodes.GRANT_USED_UP);
    assert.deepEqual(await snapshot(west.dir), westBefore);
  });

  test(
    'expired, tampered, unknown, unreachable and malformed tokens fail with their code',
    LONG,
    async () => {
      const other = await TestSite.create(root.dir, { name: 'other2' });
      const before = await snapshot(other.dir);

      const { token: shortLived, grant } = await issueToken(hub.dir, { expiry: '1s' });
      const expiresAt = Date.parse(grant.status?.expiresAt ?? '');
      await waitFor(() => Date.now() > expiresAt + 50, { what: 'the grant to expire', timeoutMs: 10_000 });
      await rejectsWith(redeemToken(other.dir, shortLived), ErrorCodes.GRANT_EXPIRED, /expired/);

      const { token } = await issueToken(hub.dir, { redemptions: 3 });
      const code = token.spec.code;
      const tampered = {
        ...token,
        spec: { ...token.spec, code: (code[0] === 'A' ? 'B' : 'A') + code.slice(1) },
      };
      await rejectsWith(redeemToken(other.dir, tampered), ErrorCodes.GRANT_BAD_CODE, /wrong code/);

      const unknown = {
        ...token,
        spec: { ...token.spec, url: token.spec.url.replace(/[^/]+$/, 'no-such-grant') },
      };
      await rejectsWith(redeemToken(other.dir, unknown), ErrorCodes.GRANT_UNKNOWN, /no-such-grant/);

      const deadPort = await freePort();
      const unreachable = {
        ...token,
        spec: { ...token.spec, url: token.spec.url.replace(/:\d+\//, `:${deadPort}/`) },
      };
      await rejectsWith(
        redeemToken(other.dir, unreachable),
        ErrorCodes.GRANT_UNREACHABLE,
        new RegExp(`127\\.0\\.0\\.1:${deadPort}`),
      );

      // a token whose CA is another site's: the grant server is not trusted
      const otherHub = await TestSite.create(root.dir, {
        name: 'otherhub',
        linkAccess: { host: '127.0.0.1', port: await freePort() },
      });
      const wrongCa = { ...token, spec: { ...token.spec, ca: otherHub.ca!.certPem } };
      await rejectsWith(
        redeemToken(other.dir, wrongCa),
        ErrorCodes.TOKEN_INVALID,
        /not signed by the token's CA/,
      );

      assert.throws(
        () => parseToken('kind: AccessToken\nspec: {}\n', 'bad.token'),
        (e: unknown) => isCaravanError(e, ErrorCodes.TOKEN_INVALID) && !e.message.includes('\n'),
      );
      await rejectsWith(
        redeemToken(other.dir, { ...token, spec: { ...token.spec, ca: 'not a certificate' } }),
        ErrorCodes.TOKEN_INVALID,
      );
      assert.deepEqual(await snapshot(other.dir), before, 'nothing written by any failed redemption');

      // the good token still works after all that
      await redeemToken(other.dir, token);
    },
  );

  test('issuing a token on a site without link access says how to enable it', async () => {
    await rejectsWith(issueToken(west.dir), ErrorCodes.NO_LINK_ACCESS, /--link-access.*spec\.linkAccess/);
  });

  test(
    'revoking one site cuts exactly its link; it cannot reconnect; the other keeps working',
    LONG,
    async () => {
      const east = await TestSite.create(root.dir, { name: 'east' });
      const { token } = await issueToken(hub.dir, {});
      await redeemToken(east.dir, token); // redeemed while east is stopped; its link comes up when it starts
      const eastProc = east.start({ env: { ...process.env, CARAVAN_LINK_BACKOFF_MAX_MS: '500' } });
      await east.routesTo(['hub'], 30_000);
      await waitFor(
        async () => {
          const s = await hub.status();
          const n = s.links.filter(
            (l) => l.state === 'up' && (siteOf(l.neighbor) === 'east' || siteOf(l.neighbor) === 'west'),
          );
          return new Set(n.map((l) => siteOf(l.neighbor))).size === 2 ? s : undefined;
        },
        { what: 'the hub to have links with west and east', timeoutMs: 30_000 },
      );
      const westLinkBefore = (await hub.status()).links.find((l) => siteOf(l.neighbor) === 'west');
      assert.ok(westLinkBefore);

      const r = await hub.admin().revokeLink('east');
      assert.deepEqual(r.sites, ['east']);
      assert.ok(r.revoked.length >= 1);
      assert.equal(r.cut, 1, 'exactly one session cut');

      await hubProc.waitForOutput(/link refused .*certificate revoked \(site east/, { timeoutMs: 30_000 });
      await waitFor(
        async () => {
          const s = await east.status();
          const l = s.links.find((x) => x.id === 'hub');
          return l && l.state !== 'up' ? s : undefined;
        },
        { what: 'the revoked link to stay down at east', timeoutMs: 30_000 },
      );
      // several refused reconnection attempts later it is still not up
      const refusals = (): number =>
        (hubProc.output.match(/link refused .*certificate revoked \(site east/g) ?? []).length;
      const seen = refusals();
      await waitFor(() => refusals() >= seen + 2, { what: 'more refused reconnections', timeoutMs: 30_000 });
      const hs = await hub.status();
      assert.ok(
        !hs.links.some((l) => siteOf(l.neighbor) === 'east' && l.state === 'up'),
        'east is not linked',
      );
      const westLink = hs.links.find((l) => siteOf(l.neighbor) === 'west');
      assert.equal(westLink?.id, westLinkBefore.id, "west's session was not touched");
      assert.equal(westLink?.upSince, westLinkBefore.upSince);
      assert.equal(await echoOnce(westListen, 'west still works'), 'west still works');

      // revoking again is harmless; an unknown target is an error
      assert.equal((await hub.admin().revokeLink('east')).alreadyRevoked, true);
      await rejectsWith(hub.admin().revokeLink('nobody'), ErrorCodes.LINK_NOT_FOUND);
      await eastProc.stop();
    },
  );

  test(
    'short-lived certificates are renewed twice under a running flow; the link never drops',
    LONG,
    async () => {
      const north = await TestSite.create(root.dir, { name: 'north' });
      const listen = await freePort();
      await north.addListener({ name: 'echo', port: listen });
      const { token } = await issueToken(hub.dir, { certLifetime: '15s' });
      await redeemToken(north.dir, token);
      const certPath = join(north.dir, 'runtime/links/hub/client.crt');
      const firstSerial = certificateInfo(await readFile(certPath, 'utf8')).serialNumber;
      const northProc = north.start();
      await north.seesKey('echo', 1, 30_000);
      const linkUp = await waitFor(
        async () => (await north.status()).links.find((l) => l.id === 'hub' && l.state === 'up'),
        { what: 'north link up', timeoutMs: 30_000 },
      );
      const hubSide = await waitFor(
        async () =>
          (await hub.status()).links.find((l) => siteOf(l.neighbor) === 'north' && l.state === 'up'),
        { what: 'hub sees north', timeoutMs: 30_000 },
      );

      // a long-lived flow: a line every 100 ms, echoed back
      const client = net.connect({ port: listen, host: '127.0.0.1' });
      let received = 0;
      let closed = false;
      client.on('data', (d: Buffer) => (received += d.length));
      client.on('close', () => (closed = true));
      client.on('error', () => undefined);
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      const pump = setInterval(() => client.write('tick tick tick tick\n'), 100);
      try {
        const renewals = (): number =>
          (northProc.output.match(/link certificate renewed .*link=hub/g) ?? []).length;
        await waitFor(() => renewals() >= 2, {
          what: 'two certificate renewals',
          timeoutMs: 60_000,
          intervalMs: 200,
        });
        const atRenewal = received;
        await waitFor(() => received > atRenewal + 200, {
          what: 'the flow to keep flowing',
          timeoutMs: 15_000,
        });
        assert.equal(closed, false, 'the flow was never cut');
        assert.notEqual(certificateInfo(await readFile(certPath, 'utf8')).serialNumber, firstSerial);
        const now = (await north.status()).links.find((l) => l.id === 'hub');
        assert.equal(now?.state, 'up');
        assert.equal(now?.upSince, linkUp.upSince, 'the link session is the one from before the renewals');
        const hubNow = (await hub.status()).links.find((l) => siteOf(l.neighbor) === 'north');
        assert.equal(hubNow?.id, hubSide.id);
        assert.equal(hubNow?.upSince, hubSide.upSince);
        assert.doesNotMatch(northProc.output, /\[link=hub\] up -> down/);
        await hubProc.waitForOutput(/link certificate renewed .*site=north/);
      } finally {
        clearInterval(pump);
        client.destroy();
      }
    },
  );
  test('a flood of refused redemptions is logged in a few lines and a summary', LONG, async () => {
    const { token } = await issueToken(hub.dir, {});
    const refusedLines = (): number =>
      (hubProc.output.match(/grant request refused .*reason=/g) ?? []).length;
    const before = refusedLines();
    const statuses = new Set<number>();
    for (let i = 0; i < 40; i++)
      statuses.add(
        await postGrant(token.spec.url, { code: `wrong-${i}`, csr: 'x', site: 'stranger', router: {} }),
      );
    assert.deepEqual([...statuses], [403], 'every wrong code is refused');
    const summary = await hubProc.waitForOutput(/grant request refused \(summary\).*/, { timeoutMs: 30_000 });
    assert.ok(
      refusedLines() - before <= 5,
      `at most 5 refusals logged in full (got ${refusedLines() - before})`,
    );
    assert.match(summary[0], /notLogged=35\b/);
  });
});
