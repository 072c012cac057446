import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SiteSpec } from '../../src/api/index.js';
import { diffSite, siteUnchanged } from '../../src/daemon/site-diff.js';

const base: SiteSpec = {
  mode: 'interior',
  routing: { helloIntervalMs: 1000, deadIntervalMs: 4000 },
  linkAccess: { host: '0.0.0.0', port: 55671, grantPort: 55672 },
  tls: { ca: 'runtime/ca.crt', cert: 'runtime/server.crt', key: 'runtime/server.key' },
};
const withSpec = (extra: Partial<SiteSpec>): SiteSpec => ({ ...base, ...extra });

describe('diffSite', () => {
  test('the flow log turns on and off in place', () => {
    const d = diffSite(base, withSpec({ observe: { flowLog: true } }));
    assert.deepEqual(d, { restart: [], acceptor: false, grants: false, console: false, flowLog: true });
  });

  test('an identical Site changes nothing', () => {
    const d = diffSite(base, structuredClone(base));
    assert.ok(siteUnchanged(d));
    assert.deepEqual(d, { restart: [], acceptor: false, grants: false, console: false, flowLog: false });
  });

  test('mode, routerId, timers, admin socket and the flow-record ring need a restart, in spec order', () => {
    const d = diffSite(
      base,
      withSpec({
        mode: 'edge',
        routing: { helloIntervalMs: 500, deadIntervalMs: 4000 },
        observe: { flowRecords: 10 },
        admin: { socket: '/run/x.sock' },
        routerId: 'r-2',
      }),
    );
    assert.deepEqual(d.restart, ['mode', 'routerId', 'routing', 'admin', 'observe.flowRecords']);
    assert.equal(d.acceptor, false);
  });

  test('a new link port restarts the acceptor and the grant server', () => {
    const d = diffSite(base, withSpec({ linkAccess: { ...base.linkAccess!, port: 6000 } }));
    assert.deepEqual(d, { restart: [], acceptor: true, grants: true, console: false, flowLog: false });
  });

  test('new advertised hosts or grant port restart only the grant server: links stay up', () => {
    const d = diffSite(
      base,
      withSpec({ linkAccess: { ...base.linkAccess!, hosts: ['gw.example'], grantPort: 7000 } }),
    );
    assert.deepEqual(d, { restart: [], acceptor: false, grants: true, console: false, flowLog: false });
  });

  test('new server TLS files, or link access removed, restart both', () => {
    assert.equal(diffSite(base, withSpec({ tls: { ...base.tls!, key: 'runtime/new.key' } })).acceptor, true);
    const off = diffSite(base, { mode: 'interior', routing: base.routing });
    assert.equal(off.acceptor, true);
    assert.equal(off.grants, true);
  });

  test('console changes restart only the console', () => {
    const d = diffSite(base, withSpec({ console: { host: '127.0.0.1', port: 8080 } }));
    assert.deepEqual(d, { restart: [], acceptor: false, grants: false, console: true, flowLog: false });
  });
});
