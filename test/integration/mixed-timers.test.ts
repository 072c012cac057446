/**
 * Two real routers whose Sites configure different routing timers (hello 100 ms / dead 400 ms against hello 1.5 s /
 * dead 5 s): the HELLO carries the sender's dead interval and each side uses the larger one (ADR 0005), so the
 * link stays up instead of being declared dead between the slow side's HELLOs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ManagedProcess } from '../support/proc.js';
import { stopAllProcesses } from '../support/proc.js';
import { makeTempRoot, TestSite } from '../support/sites.js';
import { waitFor } from '../support/wait.js';

const HOST = '127.0.0.1';

describe('routing timers that differ between two sites', () => {
  let root: Awaited<ReturnType<typeof makeTempRoot>>;
  let fast: TestSite;
  let slow: TestSite;
  let fastProc: ManagedProcess;
  let slowProc: ManagedProcess;

  before(async () => {
    root = await makeTempRoot('timers');
    fast = await TestSite.create(root.dir, {
      name: 'fast',
      linkAccess: { host: HOST, port: 0 },
      helloIntervalMs: 100,
      deadIntervalMs: 400,
    });
    slow = await TestSite.create(root.dir, { name: 'slow', helloIntervalMs: 1500, deadIntervalMs: 5000 });
    fastProc = fast.start();
    const st = await fast.ready();
    const port = st.router.linkAccess?.port;
    assert.ok(port);
    await slow.linkTo(fast, { endpoints: [{ host: HOST, port }] });
    slowProc = slow.start();
    await slow.ready();
    await slow.routesTo(['fast']);
    await fast.routesTo(['slow']);
  });

  after(async () => {
    await stopAllProcesses();
    await root?.remove();
  });

  test("the link stays up across several of the slow side's hello intervals", async () => {
    // Past the point where a 400 ms dead interval would have cut it: the fast side has heard three more of the
    // slow side's HELLOs (1.5 s apart; its only peer), and the link kept the session it had before them.
    const upSince = async (site: TestSite): Promise<string | undefined> =>
      (await site.status()).links.find((l) => l.state === 'up')?.upSince;
    const since = { fast: await upSince(fast), slow: await upSince(slow) };
    assert.ok(since.fast && since.slow, 'the link is up on both sides');
    const heard = (await fast.status()).routing.messagesIn;
    await waitFor(async () => (await fast.status()).routing.messagesIn >= heard + 3, {
      what: "three more of the slow side's HELLOs at the fast side",
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    assert.deepEqual(
      { fast: await upSince(fast), slow: await upSince(slow) },
      since,
      'the same session all along',
    );
    for (const [site, proc] of [
      [fast, fastProc],
      [slow, slowProc],
    ] as const) {
      assert.doesNotMatch(proc.output, /up -> down/, `${site.name} never declared the link down`);
      const st = await site.status();
      assert.equal(st.links.filter((l) => l.state === 'up').length, 1, `${site.name}: the link is up`);
    }
    await fast.routesTo(['slow'], 1000);
    await fastProc.waitForOutput(/different routing timers; this link uses the larger dead interval.*5000/);
  });
});
