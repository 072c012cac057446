/**
 * The README's first command runs `caravan demo`: three real router processes, a token redeemed by two sites, a
 * sample HTTP service behind east reached through west's listener, the web console with metrics. This drives it
 * as a user would (real curl) and checks that Ctrl-C leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot, run, spawnManaged, stopAllProcesses } from '../support/proc.js';

after(() => stopAllProcesses());

test('caravan demo: the network comes up, curl reaches the sample service, Ctrl-C removes everything', async () => {
  const demo = spawnManaged(process.execPath, [join(repoRoot, 'bin', 'caravan.js'), 'demo'], {
    label: 'demo',
  });
  await demo.waitForOutput(/Press Ctrl-C to stop/, { timeoutMs: 60_000 });
  const out = demo.output;
  const dir = /creating sites hub, west and east in (\S+)/.exec(out)?.[1];
  const listener = /listener 'hello' on (127\.0\.0\.1:\d+)/.exec(out)?.[1];
  const consoleUrl = /open (http:\/\/127\.0\.0\.1:\d+\/) in a browser/.exec(out)?.[1];
  assert.ok(dir && listener && consoleUrl, out);

  const answer = await run('curl', ['-sS', '--max-time', '10', `http://${listener}/`]);
  assert.equal(answer.code, 0, answer.stderr);
  assert.ok(answer.stdout.length > 0, 'the sample service answered');
  // the console's router (hub) reports both of its links up
  const metrics = await run('curl', ['-sS', '--max-time', '10', `${consoleUrl}metrics`]);
  assert.equal((metrics.stdout.match(/^caravan_link_up\{[^}]*\} 1$/gm) ?? []).length, 2, metrics.stdout);
  // and the network, seen from west, has the service matched between west and east
  const net = await run(process.execPath, [
    join(repoRoot, 'bin', 'caravan.js'),
    'network',
    'status',
    '--home',
    dir,
    '--site',
    'west',
    '-o',
    'json',
  ]);
  assert.equal(net.code, 0, net.stderr);
  const model = (
    JSON.parse(net.stdout) as { model?: { services: Array<{ routingKey: string; matched: boolean }> } }
  ).model;
  const hello = model?.services.find((x) => x.routingKey === 'hello');
  assert.equal(hello?.matched, true, net.stdout);

  demo.kill('SIGINT');
  const exit = await demo.exited;
  assert.equal(exit.code, 0, demo.output);
  assert.match(demo.output, /nothing left behind/);
  assert.equal(existsSync(dir), false, `${dir} was removed`);
});
