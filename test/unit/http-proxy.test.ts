import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateResource } from '../../src/api/index.js';
import { ErrorCodes } from '../../src/errors.js';
import { parseProxyUrl } from '../../src/http-proxy.js';

test('parseProxyUrl: host, port (default 80), Basic credentials, display without the password', () => {
  assert.deepEqual(parseProxyUrl('http://proxy.corp:3128'), {
    host: 'proxy.corp',
    port: 3128,
    display: 'http://proxy.corp:3128',
  });
  assert.equal(parseProxyUrl('http://10.0.0.1').port, 80);
  assert.equal(parseProxyUrl('http://[fd00::1]:8080').host, 'fd00::1');
  const auth = parseProxyUrl('http://alice:p%40ss@proxy:3128');
  assert.equal(auth.authorization, `Basic ${Buffer.from('alice:p@ss').toString('base64')}`);
  assert.equal(auth.display, 'http://alice@proxy:3128');
  for (const bad of ['proxy:3128', 'https://proxy:3128', 'socks5://proxy:1080', 'http://'])
    assert.throws(() => parseProxyUrl(bad), { code: ErrorCodes.INVALID_RESOURCE }, bad);
});

test('Link spec.proxy: an http:// URL without a path, or a clear error', () => {
  const link = (proxy: unknown): unknown => ({
    apiVersion: 'caravan.dev/v1alpha1',
    kind: 'Link',
    metadata: { name: 'hub' },
    spec: { endpoints: [{ host: 'hub.example', port: 55671 }], proxy },
  });
  const ok = validateResource(link('http://alice:pw@proxy:3128'), 'link.yaml');
  assert.equal(ok.kind === 'Link' ? ok.spec.proxy : undefined, 'http://alice:pw@proxy:3128');
  for (const [bad, why] of [
    ['https://proxy:3128', /http:\/\/ proxy URL/],
    ['proxy:3128', /http:\/\/ proxy URL|must be a URL/],
    ['http://proxy:3128/path', /without a path/],
    [42, /must be a string/],
  ] as const) {
    assert.throws(
      () => validateResource(link(bad), 'link.yaml'),
      (e: Error) => {
        assert.match(e.message, /spec\.proxy/);
        assert.match(e.message, why);
        return true;
      },
    );
  }
});
