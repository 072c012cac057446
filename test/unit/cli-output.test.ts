import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import type { StatusSnapshot } from '../../src/admin/types.js';
import { siteOfRouter } from '../../src/cli/names.js';
import { generateIdentity } from '../../src/identity.js';
import { networkView } from '../../src/cli/network.js';
import { Output, renderPairs, renderTable, visibleWidth } from '../../src/cli/output.js';
import { tempHome } from '../support/cli.js';

function capture(format: 'table' | 'json' | 'yaml', color = false): { out: Output; text: () => string } {
  let s = '';
  const w = { write: (t: string) => void (s += t) };
  return { out: new Output(w, w, format, color), text: () => s };
}

test('renderTable: aligned columns, no trailing spaces, colour codes do not count', () => {
  const c = capture('table', true);
  c.out.table(
    ['NAME', 'STATE'],
    [
      ['a', c.out.style('green', 'up')],
      ['longer-name', 'down'],
    ],
  );
  assert.equal(
    c.text(),
    '\u001b[1mNAME\u001b[22m         \u001b[1mSTATE\u001b[22m\na            \u001b[32mup\u001b[39m\nlonger-name  down\n',
  );
  assert.equal(visibleWidth('\u001b[1mNAME\u001b[22m'), 4);
  assert.equal(visibleWidth(c.out.style('bold', 'NAME')), 4);
  for (const line of renderTable(['A', 'B', 'C'], [['1', '', '']]).split('\n'))
    assert.equal(line, line.trimEnd());
});

test('Output.emit: table calls the renderer; json and yaml print the data', () => {
  const data = { site: 'west', links: [{ name: 'hub', cost: 1 }] };
  const t = capture('table');
  t.out.emit(data, () => t.out.table(['NAME'], [['hub']]));
  assert.equal(t.text(), 'NAME\nhub\n');
  const j = capture('json');
  j.out.emit(data, () => assert.fail('no table'));
  assert.deepEqual(JSON.parse(j.text()), data);
  const y = capture('yaml');
  y.out.emit(data, () => assert.fail('no table'));
  assert.deepEqual(parse(y.text()), data);
  const e = capture('table');
  e.out.table(['NAME'], [], 'nothing here');
  assert.equal(e.text(), 'nothing here\n');
});

test('colour only when asked for: headers bold and states coloured on a TTY, plain otherwise', async (t) => {
  const { run } = await tempHome(t);
  assert.equal((await run(['site', 'create', 'west'])).code, 0);
  assert.equal((await run(['listener', 'create', 'db', '5432'])).code, 0);
  const plain = await run(['listener', 'list']);
  assert.equal(plain.code, 0);
  assert.doesNotMatch(plain.stdout, /\u001b\[/);
  assert.match(plain.stdout, /^NAME +TYPE +ROUTING KEY +ADDRESS +MATCHED/);
  const tty = await run(['listener', 'list'], { isTTY: true });
  assert.match(tty.stdout, /\u001b\[1mNAME\u001b\[22m/);
  const noColor = await run(['listener', 'list'], { isTTY: true, env: { NO_COLOR: '1' } });
  assert.doesNotMatch(noColor.stdout, /\u001b\[/);
  const flag = await run(['listener', 'list', '--no-color'], { isTTY: true });
  assert.doesNotMatch(flag.stdout, /\u001b\[/);
});

test('-o json and -o yaml on a read command give the same data', async (t) => {
  const { run } = await tempHome(t);
  await run(['site', 'create', 'west']);
  await run(['connector', 'create', 'db', '5432', '--host', '10.0.0.7']);
  const j = await run(['connector', 'list', '-o', 'json']);
  const y = await run(['connector', 'list', '-o', 'yaml']);
  assert.equal(j.code, 0);
  assert.deepEqual(JSON.parse(j.stdout), parse(y.stdout));
  assert.deepEqual(JSON.parse(j.stdout), [
    { name: 'db', type: 'tcp', routingKey: 'db', target: '10.0.0.7:5432' },
  ]);
  const st = JSON.parse((await run(['status', '-o', 'json'])).stdout) as { running: boolean; site: string };
  assert.equal(st.site, 'west');
  assert.equal(st.running, false);
});

test('router ids carry the site name', () => {
  const id = generateIdentity('west').identity.routerId;
  assert.match(id, /^west-[a-z2-7]{26}$/);
  assert.equal(siteOfRouter(id), 'west');
  assert.equal(siteOfRouter('west-a1b2c3'), 'west'); // an id from an older router
  assert.equal(siteOfRouter('plain'), 'plain');
  const long = generateIdentity('a'.repeat(63)).identity.routerId;
  assert.ok(long.length <= 63);
  assert.equal(siteOfRouter(long), 'a'.repeat(36));
});

test('networkView: sites from the topology, with links, services and edges attached here', () => {
  const status = {
    router: { id: 'hub-aaaaaa', site: 'hub', mode: 'interior', pid: 1, version: 'x', startedAt: '' },
    links: [
      {
        id: 'in-1',
        name: 'in-1',
        direction: 'in',
        state: 'up',
        neighbor: 'laptop-cccccc',
        neighborMode: 'edge',
        cost: 1,
        bytesIn: 0,
        bytesOut: 0,
        activeFlows: 0,
      },
    ],
    routes: [],
    addresses: [],
    listeners: [],
    connectors: [],
    flows: { byKey: {}, failuresByCode: {} },
    routing: { version: 1, messagesIn: 0, messagesOut: 0, spfRuns: 0, malformed: 0 },
    topology: {
      routers: [
        {
          id: 'east-bbbbbb',
          mode: 'interior',
          seq: 3,
          reachable: true,
          links: [{ neighbor: 'hub-aaaaaa', cost: 2 }],
          addresses: { redis: 1, db: 2 },
        },
        {
          id: 'hub-aaaaaa',
          mode: 'interior',
          seq: 5,
          reachable: true,
          links: [{ neighbor: 'east-bbbbbb', cost: 2 }],
          addresses: {},
        },
        { id: 'gone-dddddd', mode: 'interior', seq: 1, reachable: false, links: [], addresses: {} },
      ],
    },
  } as unknown as StatusSnapshot;
  const v = networkView(status);
  assert.deepEqual(
    v.map((s) => [s.site, s.self, s.reachable, s.mode]),
    [
      ['hub', true, true, 'interior'],
      ['east', false, true, 'interior'],
      ['gone', false, false, 'interior'],
      ['laptop', false, true, 'edge'],
    ],
  );
  assert.deepEqual(v[1]!.services, [
    { key: 'db', connectors: 2 },
    { key: 'redis', connectors: 1 },
  ]);
  assert.deepEqual(v[0]!.links, [{ site: 'east', router: 'east-bbbbbb', cost: 2 }]);
});

test('text from peers cannot reach the terminal raw: cells, pairs, lines, json and yaml are escaped', () => {
  const evil = 'west\u001b[2J\u001b]0;owned\u0007\u009b31m\u202eevil\r';
  const c = capture('table', true);
  c.out.table(['SITE', 'STATE'], [[evil, c.out.style('green', 'up')]]);
  c.out.line(`site ${evil}`);
  c.out.stdout.write(renderPairs([['site', evil]]));
  const text = c.text();
  // the only escape sequences left are the CLI's own colours
  assert.deepEqual(
    [...text.matchAll(/\u001b\[[0-9;]*m/g)].map((m) => m[0]),
    ['\u001b[1m', '\u001b[22m', '\u001b[1m', '\u001b[22m', '\u001b[32m', '\u001b[39m'],
  );
  assert.ok(!/[\u0007\u009b\u202e\r]/.test(text));
  assert.ok(!text.replace(/\u001b\[[0-9;]*m/g, '').includes('\u001b'));
  assert.ok(text.includes('west\\x1b[2J'));
  // a peer cannot forge the CLI's colour markers: it does not know the nonce
  const forged = capture('table', true);
  forged.out.line('\uE000deadbeefdeadbeef:31\uE001red?');
  assert.ok(!forged.text().includes('\u001b'));
  const j = capture('json');
  j.out.emit({ site: evil }, () => assert.fail('no table'));
  assert.ok(!/[\u0000-\u001f\u007f-\u009f\u202e]/.test(j.text().replace(/\n/g, '')));
  assert.equal((JSON.parse(j.text()) as { site: string }).site, evil);
  const y = capture('yaml');
  y.out.emit({ site: evil }, () => assert.fail('no table'));
  assert.ok(!/[\u001b\u0007\u009b\u202e\r]/.test(y.text()));
});
