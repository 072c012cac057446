/**
 * Bounded inputs: resource files over the size cap are refused before they are read (CLI and site directory),
 * YAML alias bombs are refused, and the console's Host/Origin rules and the fd-limit parser.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ResourceError, parseResources, validateResource } from '../../src/api/index.js';
import { consoleHosts, hostOfHeader, originHost } from '../../src/admin/console-hosts.js';
import { parseFdLimits } from '../../src/observe/fd-limits.js';
import { ExitCodes } from '../../src/cli/exit-codes.js';
import { readResourceFile, resourceFileMaxBytes } from '../../src/site/resource-file.js';
import { tempHome } from '../support/cli.js';

const H = 'apiVersion: caravan.dev/v1alpha1';

test('a resource file over the cap is refused naming the file and the limit; under it, it is read', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cv-cap-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const small = join(dir, 'small.yaml');
  await writeFile(small, 'x'.repeat(1000));
  assert.equal((await readResourceFile(small, 'small.yaml', 1000)).length, 1000);
  await assert.rejects(readResourceFile(small, 'resources/small.yaml', 999), (e: unknown) => {
    assert.ok(e instanceof ResourceError);
    assert.match(e.message, /^resources\/small\.yaml: file too large \(1000 bytes\): .*limited to 999 bytes/);
    return true;
  });
  assert.equal(resourceFileMaxBytes({}), 1024 * 1024);
  assert.equal(resourceFileMaxBytes({ CARAVAN_RESOURCE_FILE_MAX_BYTES: '2048' }), 2048);
  assert.equal(resourceFileMaxBytes({ CARAVAN_RESOURCE_FILE_MAX_BYTES: 'lots' }), 1024 * 1024);
});

test('caravan apply -f refuses an oversized file (and stdin) and writes nothing', async (t) => {
  const { home, run } = await tempHome(t);
  await run(['site', 'create', 'west']);
  const doc = `${H}\nkind: Connector\nmetadata: {name: db}\nspec: {port: 5432}\n`;
  await writeFile(join(home, 'big.yaml'), doc + `# ${'x'.repeat(1021)}\n`.repeat(1100));
  await writeFile(join(home, 'ok.yaml'), doc.replace('db', 'web'));
  const r = await run(['apply', '-f', 'big.yaml', '-f', 'ok.yaml']);
  assert.equal(r.code, ExitCodes.INVALID);
  assert.match(
    r.stderr,
    /error: big\.yaml: file too large \(\d+ bytes\): resource files are limited to 1 MiB each/,
  );
  const list = await run(['connector', 'list', '-o', 'json']);
  assert.doesNotMatch(list.stdout, /"web"|"db"/, 'nothing written');
  const stdin = await run(['apply', '-f', '-'], { stdin: doc + '#'.repeat(1024 * 1024) });
  assert.equal(stdin.code, ExitCodes.INVALID);
  assert.match(stdin.stderr, /error: <stdin>: file too large/);
});

test('a YAML alias bomb is refused, not expanded', () => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(',')}]`);
  }
  const bomb = `${H}\nkind: Connector\nmetadata: {name: db}\nspec:\n  port: 5432\n  labels:\n${lines
    .map((l) => `    ${l}`)
    .join('\n')}\n`;
  const t0 = Date.now();
  assert.throws(
    () => parseResources(bomb, 'bomb.yaml'),
    (e: unknown) => e instanceof ResourceError && /bomb\.yaml: .*(alias|Excessive)/i.test(e.message),
  );
  assert.ok(Date.now() - t0 < 2000, 'refused quickly');
});

test('the console answers to its address, the localhost names and configured names only', () => {
  assert.equal(hostOfHeader('127.0.0.1:8080'), '127.0.0.1');
  assert.equal(hostOfHeader('[::1]:8080'), '::1');
  assert.equal(hostOfHeader('Console.Example.'), 'console.example');
  assert.equal(hostOfHeader('evil.example/x'), undefined);
  assert.equal(hostOfHeader('[::1'), undefined);
  assert.equal(originHost('http://[::1]:8080'), '::1');
  assert.equal(originHost('null'), undefined);
  assert.equal(originHost('file:///x'), undefined);
  const loop = consoleHosts('127.0.0.1', [], {});
  assert.deepEqual([...loop].sort(), ['127.0.0.1', '::1', 'localhost']);
  const named = consoleHosts('10.1.2.3', ['Console.Corp.Example'], {});
  assert.ok(named.has('10.1.2.3') && named.has('console.corp.example') && !named.has('evil.example'));
  const any = consoleHosts('0.0.0.0', [], {
    eth0: [
      {
        address: '192.0.2.7',
        netmask: '255.255.255.0',
        family: 'IPv4',
        mac: '00:00:00:00:00:00',
        internal: false,
        cidr: null,
      },
    ],
  });
  assert.ok(any.has('192.0.2.7'));
});

test('Site spec.limits and spec.console.hosts are validated', () => {
  const site = (spec: Record<string, unknown>): unknown => ({
    apiVersion: 'caravan.dev/v1alpha1',
    kind: 'Site',
    metadata: { name: 'hub' },
    spec,
  });
  const ok = validateResource(
    site({
      limits: { handshakeTimeoutMs: 2000, maxHandshakes: 10 },
      console: { port: 8080, hosts: ['c.example'] },
    }),
    'site.yaml',
  );
  assert.ok(ok.kind === 'Site');
  assert.deepEqual(ok.spec.limits, { handshakeTimeoutMs: 2000, maxHandshakes: 10 });
  assert.deepEqual(ok.spec.console?.hosts, ['c.example']);
  assert.throws(
    () => validateResource(site({ limits: { handshakeTimeoutMs: 5, maxHandshakez: 1 } }), 'site.yaml'),
    /spec\.limits\.maxHandshakez: unknown field[\s\S]*spec\.limits\.handshakeTimeoutMs: must be an integer 100-600000/,
  );
});

test('the fd limits are read from a /proc limits text', () => {
  const text =
    'Limit                     Soft Limit           Hard Limit           Units     \n' +
    'Max open files            1024                 524288               files     \n';
  assert.deepEqual(parseFdLimits(text), { soft: 1024, hard: 524288 });
  assert.equal(parseFdLimits('nothing'), undefined);
});
