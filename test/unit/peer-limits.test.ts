import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, ResourceError, validateResource, type SiteResource } from '../../src/api/index.js';
import { diffSite } from '../../src/daemon/site-diff.js';

function site(spec: Record<string, unknown>): SiteResource {
  return validateResource(
    { apiVersion: API_VERSION, kind: 'Site', metadata: { name: 'hub' }, spec },
    't',
  ) as SiteResource;
}

test('Site spec.peerLimits: optional positive integers, helloTimeoutMs may be 0', () => {
  assert.equal(site({}).spec.peerLimits, undefined);
  const s = site({
    peerLimits: {
      linkStreams: 500,
      linkOpenRate: 100,
      streams: 2000,
      openRate: 1000,
      connectorFlows: 50,
      helloTimeoutMs: 0,
    },
  });
  assert.deepEqual(s.spec.peerLimits, {
    linkStreams: 500,
    linkOpenRate: 100,
    streams: 2000,
    openRate: 1000,
    connectorFlows: 50,
    helloTimeoutMs: 0,
  });
});

test('Site spec.peerLimits: bad values and unknown fields are refused, each naming its field', () => {
  try {
    site({ peerLimits: { linkStreams: 0, openRate: 1.5, helloTimeoutMs: -1, streamz: 3 } });
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof ResourceError);
    const paths = e.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, [
      'spec.peerLimits.helloTimeoutMs',
      'spec.peerLimits.linkStreams',
      'spec.peerLimits.openRate',
      'spec.peerLimits.streamz',
    ]);
    assert.match(
      e.issues.find((i) => i.path === 'spec.peerLimits.linkStreams')?.message ?? '',
      /integer 1-10000000/,
    );
  }
});

test('a change of spec.peerLimits takes effect at the next router start', () => {
  const a = site({ peerLimits: { linkStreams: 500 } }).spec;
  const b = site({ peerLimits: { linkStreams: 600 } }).spec;
  assert.deepEqual(diffSite(a, b).restart, ['peerLimits']);
});
