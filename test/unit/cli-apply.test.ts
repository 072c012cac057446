import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseResources, toYaml, validateResource, type SiteResource } from '../../src/api/index.js';
import { ExitCodes } from '../../src/cli/exit-codes.js';
import { tempHome } from '../support/cli.js';

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = await readFile(join(dir, f), 'utf8');
  return out;
}

const H = 'apiVersion: caravan.dev/v1alpha1';

test('apply: every invalid field is named with its file and path; nothing is written', async (t) => {
  const { home, run } = await tempHome(t);
  await run(['site', 'create', 'west']);
  const res = join(home, 'sites', 'west', 'resources');
  const before = await snapshot(res);
  await writeFile(
    join(home, 'bad.yaml'),
    `${H}\nkind: Listener\nmetadata: {name: db}\nspec: {port: 5432}\n---\n${H}\nkind: Listener\nmetadata: {name: web}\nspec:\n  port: 99999\n  hostt: x\n---\n${H}\nkind: Connector\nmetadata: {name: api}\nspec: {port: 80, type: sctp}\n`,
  );
  const r = await run(['apply', '-f', 'bad.yaml']);
  assert.equal(r.code, ExitCodes.INVALID);
  const lines = r.stderr.trimEnd().split('\n');
  assert.ok(
    lines.every((l) => l.startsWith('error: bad.yaml: ')),
    r.stderr,
  );
  assert.ok(
    lines.some((l) => /Listener "web": spec\.port: must be an integer 1-65535 \(got 99999\)/.test(l)),
    r.stderr,
  );
  assert.ok(
    lines.some((l) => /Listener "web": spec\.hostt: unknown field; did you mean "host"\?/.test(l)),
    r.stderr,
  );
  assert.ok(
    lines.some((l) => /Connector "api": spec\.type: must be one of: /.test(l)),
    r.stderr,
  );
  assert.equal(r.stdout, '');
  assert.deepEqual(await snapshot(res), before, 'the valid Listener "db" was not written either');

  // a YAML syntax error names the line
  const syntax = await run(['apply', '-f', '-'], { stdin: `${H}\nkind: Listener\nmetadata: {name: db\n` });
  assert.equal(syntax.code, ExitCodes.INVALID);
  assert.match(syntax.stderr, /^error: <stdin>:\d+:\d+: YAML syntax error/);
});

test('apply: cross-resource checks (port clash, a second Site) name the field', async (t) => {
  const { run } = await tempHome(t);
  await run(['site', 'create', 'west']);
  assert.equal((await run(['listener', 'create', 'db', '5432'])).code, 0);
  const clash = await run(['apply', '-f', '-'], {
    stdin: `${H}\nkind: Listener\nmetadata: {name: db2}\nspec: {port: 5432}\n`,
  });
  assert.equal(clash.code, ExitCodes.INVALID);
  assert.match(
    clash.stderr,
    /^error: <stdin>: Listener "db2": spec\.port: port 5432 on 0\.0\.0\.0 is already used by Listener "db"/,
  );
  const other = await run(['apply', '-f', '-'], { stdin: `${H}\nkind: Site\nmetadata: {name: east}\n` });
  assert.equal(other.code, ExitCodes.INVALID);
  assert.match(other.stderr, /Site "east": metadata\.name: this site is named "west"/);
  const dup = await run(['listener', 'create', 'db', '6000']);
  assert.equal(dup.code, ExitCodes.INVALID);
  assert.match(dup.stderr, /Listener "db" already exists in site west/);
});

test('listener create --allow: repeatable, validated, shown by listener status', async (t) => {
  const { run } = await tempHome(t);
  await run(['site', 'create', 'west']);
  const bad = await run(['listener', 'create', 'db', '5432', '--allow', '10.0.0.0/40']);
  assert.equal(bad.code, ExitCodes.INVALID);
  assert.match(bad.stderr, /spec\.allow\[0\]: prefix length must be 0-32/);
  const ok = await run(['listener', 'create', 'db', '5432', '--allow', '10.1.0.0/16', '--allow', 'fd00::/8']);
  assert.equal(ok.code, 0, ok.stderr);
  const st = await run(['listener', 'status', 'db']);
  assert.match(st.stdout, /Allowed clients:\s+10\.1\.0\.0\/16, fd00::\/8/);
});

test('listener create: --priority/--weighted, --multicast, TLS files; connector create --type amqp', async (t) => {
  const { run } = await tempHome(t);
  const cli = (line: string) => run(line.split(' '));
  const yaml = async (line: string): Promise<string> => {
    const r = await cli(`${line} -o yaml`);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  assert.match(await yaml('listener create db 5432 --priority a --priority b'), /priority:\n\s+- a\n\s+- b/);
  assert.match(
    await yaml('listener create api 80 --type http1 --weighted v1=9 --weighted v2=1'),
    /weighted:\n\s+v1: 9\n\s+v2: 1/,
  );
  assert.match(
    await yaml(
      'listener create bus 5671 --type amqp --multicast bus.ev. --tls-cert c.pem --tls-key k.pem --client-ca ca.pem',
    ),
    /multicast:\n\s+- bus\.ev\.\n\s+tls:\n\s+cert: c\.pem\n\s+key: k\.pem\n\s+clientCa: ca\.pem/,
  );
  assert.match(
    await yaml(
      'connector create orders 5672 --type amqp --routing-key bus.orders --address /queue/orders --username u --password-file p',
    ),
    /address: \/queue\/orders\n\s+username: u\n\s+passwordFile: p/,
  );
  const half = await cli('listener create bus 5671 --type amqp --tls-cert c.pem -o yaml');
  assert.equal(half.code, ExitCodes.USAGE);
  assert.match(half.stderr, /--tls-cert and --tls-key go together/);
  assert.match(
    (await cli('listener create api 80 --weighted v1 -o yaml')).stderr,
    /--weighted takes KEY=WEIGHT/,
  );
});

test('apply updates in place (also inside multi-document files), keeps the router id; delete -f removes', async (t) => {
  const { home, run } = await tempHome(t);
  await run(['site', 'create', 'west']);
  const dir = join(home, 'sites', 'west');
  const siteFile = join(dir, 'resources', 'site-west.yaml');
  const routerId = (parseResources(await readFile(siteFile, 'utf8'), 'x')[0] as SiteResource).spec.routerId;
  await writeFile(
    join(dir, 'resources', 'services.yaml'),
    `${H}\nkind: Listener\nmetadata: {name: a}\nspec: {port: 1001}\n---\n${H}\nkind: Listener\nmetadata: {name: b}\nspec: {port: 1002}\n`,
  );
  const r = await run(['apply', '-f', '-'], {
    stdin: `${H}\nkind: Site\nmetadata: {name: west}\nspec:\n  routing: {helloIntervalMs: 100}\n---\n${H}\nkind: Listener\nmetadata: {name: b}\nspec: {port: 2002}\n---\n${H}\nkind: Connector\nmetadata: {name: c}\nspec: {port: 3003}\n`,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Site/west configured\nListener/b configured\nConnector/c created\n');
  const site = parseResources(await readFile(siteFile, 'utf8'), 'x')[0] as SiteResource;
  assert.equal(site.spec.routerId, routerId, 'the router id survives');
  assert.deepEqual(site.spec.routing, { helloIntervalMs: 100, deadIntervalMs: 300 });
  const services = parseResources(await readFile(join(dir, 'resources', 'services.yaml'), 'utf8'), 'x');
  assert.deepEqual(
    services.map((s) => [s.metadata.name, (s.spec as { port: number }).port]),
    [
      ['a', 1001],
      ['b', 2002],
    ],
  );
  const again = await run(['apply', '-f', '-', '-o', 'json'], {
    stdin: `${H}\nkind: Connector\nmetadata: {name: c}\nspec: {port: 3003}\n`,
  });
  assert.deepEqual(JSON.parse(again.stdout), [
    { kind: 'Connector', name: 'c', action: 'unchanged', file: 'resources/connector-c.yaml' },
  ]);

  const del = await run(['delete', '-f', '-'], {
    stdin: `${H}\nkind: Listener\nmetadata: {name: a}\nspec: {port: 1}\n---\n${H}\nkind: Connector\nmetadata: {name: c}\nspec: {port: 1}\n`,
  });
  assert.equal(del.code, 0, del.stderr);
  assert.equal(del.stdout, 'Listener/a deleted\nConnector/c deleted\n');
  assert.deepEqual((await readdir(join(dir, 'resources'))).sort(), ['services.yaml', 'site-west.yaml']);
  const missing = await run(['delete', '-f', '-'], {
    stdin: `${H}\nkind: Listener\nmetadata: {name: zzz}\nspec: {port: 1}\n`,
  });
  assert.equal(missing.code, ExitCodes.INVALID);
  assert.match(missing.stderr, /Listener "zzz": metadata\.name: not found/);
  assert.equal(
    (
      await run(['delete', '-f', '-', '--ignore-not-found'], {
        stdin: `${H}\nkind: Listener\nmetadata: {name: zzz}\nspec: {port: 1}\n`,
      })
    ).code,
    0,
  );
  assert.equal((await run(['listener', 'delete', 'b'])).code, 0);
  assert.deepEqual((await readdir(join(dir, 'resources'))).sort(), ['site-west.yaml']);
  const gone = await run(['listener', 'delete', 'b']);
  assert.equal(gone.code, ExitCodes.INVALID);
  assert.match(gone.stderr, /no listener named 'b' at site west/);
});

test('-o yaml on create verbs prints the resource (valid, round-trips) and writes nothing', async (t) => {
  const { home, run } = await tempHome(t);
  await run(['site', 'create', 'west']);
  const res = join(home, 'sites', 'west', 'resources');
  const before = await snapshot(res);
  const cases: Array<[string[], string]> = [
    [
      [
        'listener',
        'create',
        'db',
        '5432',
        '--routing-key',
        'db.orders',
        '--host',
        '127.0.0.1',
        '--distribution',
        'closest',
        '-o',
        'yaml',
      ],
      'Listener',
    ],
    [['connector', 'create', 'db', '5432', '--host', '10.0.0.7', '--type', 'tcp', '-o', 'yaml'], 'Connector'],
    [['site', 'create', 'east', '--link-access', '--bind', '10.1.2.3', '-o', 'yaml'], 'Site'],
  ];
  for (const [argv, kind] of cases) {
    const r = await run(argv);
    assert.equal(r.code, 0, r.stderr);
    const [doc, ...rest] = parseResources(r.stdout, 'stdout');
    assert.equal(rest.length, 0);
    assert.equal(doc!.kind, kind);
    assert.equal(
      toYaml(validateResource(doc, 'again')),
      r.stdout,
      `${kind} round-trips through the validator`,
    );
  }
  const l = parseResources((await run(cases[0]![0])).stdout, 'x')[0]!;
  assert.deepEqual(l.spec, {
    routingKey: 'db.orders',
    host: '127.0.0.1',
    port: 5432,
    type: 'tcp',
    distribution: 'closest',
  });
  const json = await run(['connector', 'create', 'web', '80', '-o', 'json']);
  assert.equal((JSON.parse(json.stdout) as { spec: { routingKey: string } }).spec.routingKey, 'web');
  assert.deepEqual(await snapshot(res), before);
  assert.deepEqual(await readdir(join(home, 'sites')), ['west'], 'site create -o yaml creates no site');

  const bad = await run(['listener', 'create', 'db', '70000', '-o', 'yaml']);
  assert.equal(bad.code, ExitCodes.INVALID);
  assert.match(
    bad.stderr,
    /^error: listener create: Listener "db": spec\.port: must be an integer 1-65535 \(got 70000\)\n$/,
  );
  const badKey = await run(['connector', 'create', 'db', '80', '--routing-key', 'host:80']);
  assert.equal(badKey.code, ExitCodes.INVALID);
  assert.match(badKey.stderr, /spec\.routingKey: must be a routing key/);
});

test('apply: a new resource gets generation 1; a changed spec the next one; an unchanged one keeps it', async (t) => {
  const { home, run } = await tempHome(t);
  await run(['site', 'create', 'west']);
  const file = join(home, 'sites', 'west', 'resources', 'listener-db.yaml');
  const gen = async (): Promise<number | undefined> =>
    parseResources(await readFile(file, 'utf8'), 'x')[0]?.metadata.generation;
  assert.equal((await run(['listener', 'create', 'db', '5432'])).code, 0);
  assert.equal(await gen(), 1);
  const apply = (port: number) =>
    run(['apply', '-f', '-'], {
      stdin: `${H}\nkind: Listener\nmetadata: {name: db}\nspec: {port: ${port}}\n`,
    });
  const same = await apply(5432);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /unchanged/);
  assert.equal(await gen(), 1);
  assert.equal((await apply(6000)).code, 0);
  assert.equal(await gen(), 2);
  // a generation written by hand does not count: the CLI owns it
  const hand = await run(['apply', '-f', '-'], {
    stdin: `${H}\nkind: Listener\nmetadata: {name: db, generation: 40}\nspec: {port: 7000}\n`,
  });
  assert.equal(hand.code, 0, hand.stderr);
  assert.equal(await gen(), 3);
});
