import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { readTar, tarArchive } from '../../src/cli/tar.js';
import { isSecretFile, redact } from '../../src/cli/commands/debug-dump.js';
import { tempHome } from '../support/cli.js';

test('tar: what tarArchive writes, readTar and tar(1) read back', async (t) => {
  const { home } = await tempHome(t);
  const long = `d/${'x'.repeat(90)}/${'y'.repeat(60)}.txt`;
  const buf = tarArchive([
    { name: 'd/a.txt', data: Buffer.from('hello\n') },
    { name: long, data: Buffer.alloc(1000, 7) },
  ]);
  assert.equal(buf.length % 512, 0);
  const back = readTar(buf);
  assert.deepEqual(
    back.map((e) => e.name),
    ['d/a.txt', long],
  );
  assert.equal(back[0]!.data.toString(), 'hello\n');
  const file = join(home, 'x.tar');
  await writeFile(file, buf);
  assert.deepEqual(execFileSync('tar', ['tf', file], { encoding: 'utf8' }).trim().split('\n'), [
    'd/a.txt',
    long,
  ]);
});

test('redact: private keys and one-time codes never leave', () => {
  assert.equal(isSecretFile('runtime/ca.key'), true);
  assert.equal(isSecretFile('runtime/links/hub/client.key'), true);
  assert.equal(isSecretFile('runtime/admin.sock'), true);
  assert.equal(isSecretFile('runtime/ca.crt'), false);
  const r = redact(
    'a\n-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n  code: s3cret\n{"codeHash": "abc"}\n',
  );
  assert.doesNotMatch(r, /AAA|s3cret|abc/);
  const p = redact(
    '  proxy: http://alice:pa55@proxy.corp:3128\n"proxy": "http://bob:w0rd@p:1"\nurl: http://host:80/x\n',
  );
  assert.doesNotMatch(p, /pa55|w0rd/, 'proxy passwords never leave');
  assert.match(p, /http:\/\/alice:<redacted>@proxy\.corp:3128/);
  assert.match(p, /http:\/\/host:80\/x/, 'URLs without a password stay as they are');
});

test('debug dump: resources, runtime state and logs, but no private key and no token code', async (t) => {
  const { home, run } = await tempHome(t);
  assert.equal((await run(['site', 'create', 'hub', '--link-access', '--host', '127.0.0.1'])).code, 0);
  assert.equal((await run(['listener', 'create', 'db', '5432'])).code, 0);
  const issued = await run(['token', 'issue', 'west.token']);
  assert.equal(issued.code, 0, issued.stderr);
  const tokenText = await readFile(join(home, 'west.token'), 'utf8');
  const code = /^\s*code: (\S+)$/m.exec(tokenText)?.[1];
  assert.ok(code, 'the token holds a code');
  const r = await run(['debug', 'dump', 'dump.tar.gz']);
  assert.equal(r.code, 0, r.stderr);
  const tgz = join(home, 'dump.tar.gz');
  const entries = readTar(gunzipSync(await readFile(tgz)));
  const names = entries.map((e) => e.name);
  assert.ok(names.includes('caravan-dump-hub/resources/site-hub.yaml'), names.join('\n'));
  assert.ok(names.includes('caravan-dump-hub/resources/listener-db.yaml'));
  assert.ok(names.includes('caravan-dump-hub/runtime/ca.crt'));
  assert.ok(names.includes('caravan-dump-hub/info.json'));
  assert.ok(names.includes('caravan-dump-hub/files.txt'));
  for (const e of entries) {
    assert.doesNotMatch(e.name, /\.key$/, `${e.name} is a key`);
    const text = e.data.toString('utf8');
    assert.doesNotMatch(text, /PRIVATE KEY-----/, `${e.name} holds a private key`);
    assert.ok(!text.includes(code), `${e.name} holds the token's code`);
  }
  // the listing names the key files (so a reader sees they exist) without their content
  const listing = entries.find((e) => e.name.endsWith('files.txt'))!.data.toString();
  assert.match(listing, /runtime\/ca\.key/);
  // tar(1) agrees
  const list = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' });
  assert.doesNotMatch(list, /\.key$/m);
});
