import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConnectorResource, LinkResource, ListenerResource } from '../../src/api/index.js';
import {
  changedFields,
  connectorInPlace,
  describeChange,
  diffResources,
  linkInPlace,
  listenerInPlace,
} from '../../src/daemon/resource-diff.js';

function listener(name: string, spec: Partial<ListenerResource['spec']> = {}, generation?: number) {
  const r: ListenerResource = {
    apiVersion: 'caravan.dev/v1alpha1',
    kind: 'Listener',
    metadata: { name, ...(generation !== undefined ? { generation } : {}) },
    spec: { routingKey: name, host: '127.0.0.1', port: 5432, type: 'tcp', distribution: 'balanced', ...spec },
  };
  return r;
}

function connector(name: string, spec: Partial<ConnectorResource['spec']> = {}): ConnectorResource {
  return {
    apiVersion: 'caravan.dev/v1alpha1',
    kind: 'Connector',
    metadata: { name },
    spec: {
      routingKey: name,
      host: '10.244.0.11',
      port: 6379,
      type: 'tcp',
      ...spec,
    } as ConnectorResource['spec'],
  };
}

function link(name: string, spec: Partial<LinkResource['spec']> = {}): LinkResource {
  return {
    apiVersion: 'caravan.dev/v1alpha1',
    kind: 'Link',
    metadata: { name },
    spec: {
      endpoints: [{ host: 'hub.example', port: 55671 }],
      cost: 1,
      tls: { ca: '/ca.crt', cert: '/c.crt', key: '/c.key' },
      ...spec,
    },
  };
}

describe('diffResources', () => {
  test('added, updated and removed, by name; an unchanged resource yields nothing', () => {
    const changes = diffResources(
      [listener('a'), listener('b'), listener('c')],
      [listener('b'), listener('c', { port: 6000 }), listener('d')],
      listenerInPlace,
    );
    assert.deepEqual(
      changes.map((c) => [c.op, c.name]),
      [
        ['removed', 'a'],
        ['updated', 'c'],
        ['added', 'd'],
      ],
    );
    const u = changes[1];
    assert.ok(u?.op === 'updated');
    assert.deepEqual(u.fields, ['spec.port']);
    assert.equal(u.inPlace, false, 'a new port rebinds');
    assert.equal(describeChange(u), 'Listener/c updated (spec.port)');
  });

  test("a tcp listener's routing key, allow list and distribution change in place; host rebinds", () => {
    const [c] = diffResources(
      [listener('db')],
      [listener('db', { routingKey: 'db2', allow: ['10.0.0.0/8'], distribution: 'closest' })],
      listenerInPlace,
    );
    assert.ok(c?.op === 'updated');
    assert.deepEqual(c.fields, ['spec.allow', 'spec.distribution', 'spec.routingKey']);
    assert.equal(c.inPlace, true);
    assert.equal(
      describeChange(c),
      'Listener/db updated in place (spec.allow, spec.distribution, spec.routingKey)',
    );

    const [h] = diffResources(
      [listener('db')],
      [listener('db', { host: '0.0.0.0', routingKey: 'x' })],
      listenerInPlace,
    );
    assert.ok(h?.op === 'updated');
    assert.equal(h.inPlace, false);
  });

  test('other listener types and a type change are replaced', () => {
    const [http] = diffResources(
      [listener('web', { type: 'http1' })],
      [listener('web', { type: 'http1', routingKey: 'w2' })],
      listenerInPlace,
    );
    assert.ok(http?.op === 'updated' && !http.inPlace);
    const [type] = diffResources([listener('x')], [listener('x', { type: 'http1' })], listenerInPlace);
    assert.ok(type?.op === 'updated' && !type.inPlace);
  });

  test('a new generation of the same spec is an update of metadata only, in place', () => {
    const [c] = diffResources([listener('db', {}, 1)], [listener('db', {}, 2)], listenerInPlace);
    assert.ok(c?.op === 'updated');
    assert.deepEqual(c.fields, []);
    assert.equal(c.inPlace, true);
    assert.equal(describeChange(c), 'Listener/db updated in place (metadata)');
  });

  test('a link takes a new cost in place; new endpoints redial', () => {
    const [cost] = diffResources([link('hub')], [link('hub', { cost: 7 })], linkInPlace);
    assert.ok(cost?.op === 'updated' && cost.inPlace);
    const [ep] = diffResources(
      [link('hub')],
      [link('hub', { cost: 7, endpoints: [{ host: 'hub2.example', port: 55671 }] })],
      linkInPlace,
    );
    assert.ok(ep?.op === 'updated' && !ep.inPlace);
    assert.deepEqual(ep.fields, ['spec.cost', 'spec.endpoints']);
  });

  test("a tcp connector's targets change in place; a new routing key or type replaces it", () => {
    const pods = (...ips: string[]) => ({
      host: ips[0]!,
      targets: ips.map((host) => ({ host, port: 6379 })),
    });
    const [c] = diffResources(
      [connector('redis', pods('10.244.0.11', '10.244.0.12'))],
      [connector('redis', pods('10.244.0.12'))],
      connectorInPlace,
    );
    assert.ok(c?.op === 'updated');
    assert.deepEqual(c.fields, ['spec.host', 'spec.targets']);
    assert.equal(c.inPlace, true);
    assert.equal(describeChange(c), 'Connector/redis updated in place (spec.host, spec.targets)');
    const [k] = diffResources(
      [connector('redis')],
      [connector('redis', { routingKey: 'cache' })],
      connectorInPlace,
    );
    assert.ok(k?.op === 'updated');
    assert.equal(k.inPlace, false);
    const [t] = diffResources(
      [connector('redis')],
      [connector('redis', { type: 'http1' } as Partial<ConnectorResource['spec']>)],
      connectorInPlace,
    );
    assert.ok(t?.op === 'updated');
    assert.equal(t.inPlace, false);
  });

  test('changedFields sees fields that appear or disappear', () => {
    assert.deepEqual(changedFields({ a: 1, b: [1] }, { b: [1], c: undefined, d: 0 }), ['spec.a', 'spec.d']);
  });
});
