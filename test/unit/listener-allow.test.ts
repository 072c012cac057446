import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AllowList } from '../../src/adapters/common/allow.js';
import { validateResource } from '../../src/api/index.js';
import { createLogger } from '../../src/observe/log.js';

const log = createLogger({ level: 'error', format: 'json', sinks: [] });

test('AllowList: addresses and prefixes, IPv4-mapped IPv6, an empty list admits nobody', () => {
  const a = AllowList.from(['10.1.0.0/16', '192.168.7.20', 'fd00::/8'], log);
  assert.ok(a);
  assert.equal(a.allows('10.1.200.3'), true);
  assert.equal(a.allows('10.2.0.1'), false);
  assert.equal(a.allows('192.168.7.20'), true);
  assert.equal(a.allows('192.168.7.21'), false);
  assert.equal(a.allows('::ffff:10.1.0.9'), true, 'what a dual-stack socket reports');
  assert.equal(a.allows('fd12::1'), true);
  assert.equal(a.allows('fe80::1'), false);
  assert.equal(a.allows(undefined), false);
  assert.equal(AllowList.from(undefined, log), undefined, 'no list: everyone');
  assert.equal(AllowList.from([], log)?.allows('127.0.0.1'), false);
});

test('Listener spec.allow: validated entry by entry', () => {
  const listener = (allow: unknown): unknown => ({
    apiVersion: 'caravan.dev/v1alpha1',
    kind: 'Listener',
    metadata: { name: 'db' },
    spec: { port: 5432, allow },
  });
  const ok = validateResource(listener(['10.0.0.0/8', '::1', '2001:db8::/32']), 'l.yaml');
  assert.deepEqual(ok.kind === 'Listener' ? ok.spec.allow : undefined, [
    '10.0.0.0/8',
    '::1',
    '2001:db8::/32',
  ]);
  for (const [bad, why] of [
    ['10.0.0.0/8', /must be a list/],
    [['10.0.0.0/33'], /prefix length must be 0-32/],
    [['::/129'], /prefix length must be 0-128/],
    [['10.0.0.0/8/1'], /address or CIDR prefix/],
    [['db.example'], /address or CIDR prefix/],
    [[7], /address or CIDR prefix/],
  ] as const) {
    assert.throws(
      () => validateResource(listener(bad), 'l.yaml'),
      (e: Error) => /spec\.allow/.test(e.message) && why.test(e.message),
      JSON.stringify(bad),
    );
  }
});
