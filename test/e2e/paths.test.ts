/**
 * Multi-hop transit, a redundant path and distribution, in network namespaces:
 *
 *      a ── b ── c ── d        chain of interiors, cost 1 per link (a→d costs 3 through b and c)
 *       \____________/         redundant direct link a–d, cost 10
 *
 * Service `svc` has its connector at d and its listener at a. Service `near-far` has connectors at b (cost 1
 * from a) and c (cost 2 from a); a has a `closest` and a `balanced` listener for it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NetLab, startTcpServer, tcpProbe, type Host } from '../support/netns.js';
import { makeTempRoot, TestSite, siteOf } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const PORT = 55671;

describe('paths: multi-hop chain, redundant link, distribution', () => {
  let lab: NetLab;
  let root: { dir: string; remove: () => Promise<void> };
  const h: Record<string, Host> = {};
  const s: Record<string, TestSite> = {};
  let bcIf = '';

  before(async () => {
    lab = await NetLab.create('paths');
    root = await makeTempRoot('paths');
    for (const n of ['a', 'b', 'c', 'd']) h[n] = await lab.addHost(n);
    await lab.connect(h.a!, h.b!, '100.64.10.1/30', '100.64.10.2/30');
    const bc = await lab.connect(h.b!, h.c!, '100.64.10.5/30', '100.64.10.6/30');
    bcIf = bc.aIf;
    await lab.connect(h.c!, h.d!, '100.64.10.9/30', '100.64.10.10/30');
    await lab.connect(h.a!, h.d!, '100.64.10.13/30', '100.64.10.14/30');

    for (const n of ['a', 'b', 'c', 'd']) {
      s[n] = await TestSite.create(root.dir, { name: n, linkAccess: { host: '0.0.0.0', port: PORT } });
    }
    // each link is dialled by the left-hand router
    await s.a!.linkTo(s.b!, { endpoints: [{ host: '100.64.10.2', port: PORT }], cost: 1 });
    await s.b!.linkTo(s.c!, { endpoints: [{ host: '100.64.10.6', port: PORT }], cost: 1 });
    await s.c!.linkTo(s.d!, { endpoints: [{ host: '100.64.10.10', port: PORT }], cost: 1 });
    await s.a!.linkTo(s.d!, { endpoints: [{ host: '100.64.10.14', port: PORT }], cost: 10 });

    await startTcpServer(lab, h.d!, '127.0.0.1', 7000, 'from-d');
    await startTcpServer(lab, h.b!, '127.0.0.1', 7100, 'from-b');
    await startTcpServer(lab, h.c!, '127.0.0.1', 7100, 'from-c');
    await s.d!.addConnector({ name: 'svc', port: 7000 });
    await s.b!.addConnector({ name: 'nf-b', routingKey: 'near-far', port: 7100 });
    await s.c!.addConnector({ name: 'nf-c', routingKey: 'near-far', port: 7100 });
    await s.a!.addListener({ name: 'svc', port: 7000 });
    await s.a!.addListener({
      name: 'nf-closest',
      routingKey: 'near-far',
      port: 7101,
      distribution: 'closest',
    });
    await s.a!.addListener({
      name: 'nf-balanced',
      routingKey: 'near-far',
      port: 7102,
      distribution: 'balanced',
    });
    for (const n of ['a', 'b', 'c', 'd'])
      lab.spawn(h[n]!, process.execPath, s[n]!.routerArgs(), { label: `router-${n}` });
    await s.a!.seesKey('svc');
    await s.a!.seesKey('near-far', 2);
  });

  after(async () => {
    await lab?.destroy();
    await root?.remove();
  });

  const routeTo = async (from: string, to: string): Promise<{ nextHop: string; cost: number } | undefined> =>
    (await s[from]!.status()).routes.find((r) => siteOf(r.dest) === to);

  test('the shortest path to d is the three-hop chain, and traffic crosses it', async () => {
    const r = await waitFor(
      async () => {
        const rt = await routeTo('a', 'd');
        return rt && siteOf(rt.nextHop) === 'b' && rt.cost === 3 ? rt : undefined;
      },
      { what: 'a to route to d via b at cost 3' },
    );
    assert.equal(siteOf(r.nextHop), 'b');
    const bBefore = (await s.b!.status()).links.reduce((n, l) => n + l.bytesOut, 0);
    const p = await tcpProbe(lab, h.a!, '127.0.0.1', 7000);
    assert.deepEqual(p, { ok: true, data: 'from-d' });
    const bAfter = (await s.b!.status()).links.reduce((n, l) => n + l.bytesOut, 0);
    assert.ok(bAfter > bBefore, 'the flow crossed b (transit)');
  });

  test('a link on the path goes down during traffic: new connections keep succeeding; it comes back: the short path returns', async () => {
    const t: Traffic = { ok: 0, stop: false, failures: [] };
    const traffic = (async () => {
      while (!t.stop) {
        const p = await tcpProbe(lab, h.a!, '127.0.0.1', 7000, { timeoutMs: 5000 });
        if (p.ok && p.data === 'from-d') t.ok++;
        else t.failures.push(JSON.stringify(p));
      }
    })();
    try {
      await failover(t);
    } finally {
      t.stop = true;
      await traffic;
    }
    assert.deepEqual(t.failures, [], 'no new connection failed during the failure and the heal');
  });

  interface Traffic {
    ok: number;
    stop: boolean;
    failures: string[];
  }

  /** Take the b–c link down under traffic, check the reroute, bring it back, check the short path returns. */
  async function failover(t: Traffic): Promise<void> {
    await waitFor(() => t.ok >= 3, { what: 'traffic to flow before the failure' });
    await lab.linkDown(h.b!, bcIf);
    const rerouted = await waitFor(
      async () => {
        const rt = await routeTo('a', 'd');
        return rt && siteOf(rt.nextHop) === 'd' && rt.cost === 10 ? rt : undefined;
      },
      { what: 'a to reroute to d over the direct link', timeoutMs: 10_000 },
    );
    assert.equal(rerouted.cost, 10);
    const okAtReroute = t.ok;
    // within 1 s of detection, new connections succeed over the other path
    const t0 = Date.now();
    await waitFor(() => t.ok > okAtReroute, {
      what: 'a connection to succeed over the backup path',
      timeoutMs: 5000,
    });
    assert.ok(Date.now() - t0 < 1000, `first connection after the reroute took ${Date.now() - t0} ms`);
    const okBeforeHeal = t.ok;
    await waitFor(() => t.ok >= okBeforeHeal + 5, { what: 'more connections over the backup path' });

    await lab.linkUp(h.b!, bcIf);
    await waitFor(
      async () => {
        const rt = await routeTo('a', 'd');
        return rt && siteOf(rt.nextHop) === 'b' && rt.cost === 3;
      },
      { what: 'the short path to return after the link comes back', timeoutMs: 20_000 },
    );
    const okAtHeal = t.ok;
    await waitFor(() => t.ok >= okAtHeal + 5, { what: 'connections over the healed path' });
  }

  test('closest always picks the nearer connector', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const p = await tcpProbe(lab, h.a!, '127.0.0.1', 7101);
      assert.ok(p.ok, JSON.stringify(p));
      seen.set(p.data, (seen.get(p.data) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()], ['from-b']);
  });

  test('balanced spreads concurrent load across both connectors', async () => {
    // 40 connections held open at once: in-flight counts push new flows toward the farther connector
    const holders = await lab.exec(
      h.a!,
      process.execPath,
      [
        '-e',
        `const net=require('net');const n=40;let done=0;const seen={};const socks=[];
         for(let i=0;i<n;i++){const s=net.connect(7102,'127.0.0.1');socks.push(s);let d='';
           s.on('data',(x)=>{d+=x});s.on('error',()=>{});
           s.on('connect',()=>{});
           s.on('close',()=>{seen[d]=(seen[d]||0)+1;if(++done===n){console.log(JSON.stringify(seen));process.exit(0)}});}
         setTimeout(()=>{console.log(JSON.stringify(seen));process.exit(1)},20000);`,
      ],
      { timeoutMs: 30_000 },
    );
    const seen = JSON.parse(holders.stdout.trim()) as Record<string, number>;
    assert.ok((seen['from-b'] ?? 0) > 0, `b got flows: ${holders.stdout}`);
    assert.ok((seen['from-c'] ?? 0) > 0, `c got flows: ${holders.stdout}`);
  });
});
