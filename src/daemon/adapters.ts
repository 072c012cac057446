/**
 * The adapter registry: which listener and connector implementation serves each resource `type`.
 * Adapters never import each other; the composition root picks them here.
 *
 * Only tcp is loaded with the router. The other protocols are imported by `loadAdapters` when the site first has a
 * resource of that type: a tcp-only router does not carry the http1/http2/amqp/udp code (and `node:http`,
 * `node:http2`, `node:dgram`) in its idle memory (docs/design/performance.md, "Idle memory").
 */
import type { AmqpBrokerConnector } from '../adapters/amqp/broker.js';
import type { AmqpListener } from '../adapters/amqp/listener.js';
import type { Http1Connector } from '../adapters/http1/connector.js';
import type { Http1Listener } from '../adapters/http1/listener.js';
import type { Http2Connector } from '../adapters/http2/connector.js';
import type { Http2Listener } from '../adapters/http2/listener.js';
import { TcpConnector, type TcpConnectorSpec } from '../adapters/tcp/connector.js';
import { TcpListener, type TcpListenerSpec } from '../adapters/tcp/listener.js';
import type { ListenerBaseSpec } from '../adapters/common/spec-adapter.js';
import type { UdpConnector } from '../adapters/udp/connector.js';
import type { UdpListener } from '../adapters/udp/listener.js';
import { listenerKeys, type ConnectorResource, type ListenerResource } from '../api/index.js';
import type { Logger } from '../observe/log.js';
import type { AdapterHost, ConnectorAdapter, ListenerAdapter } from '../router/contract.js';

type Protocol = ListenerResource['spec']['type'] | ConnectorResource['spec']['type'];
type LazyProtocol = Exclude<Protocol, 'tcp'>;

interface Loaded {
  http1: { Listener: typeof Http1Listener; Connector: typeof Http1Connector };
  http2: { Listener: typeof Http2Listener; Connector: typeof Http2Connector };
  amqp: { Listener: typeof AmqpListener; Connector: typeof AmqpBrokerConnector };
  udp: { Listener: typeof UdpListener; Connector: typeof UdpConnector };
}

const loaders: { [P in LazyProtocol]: () => Promise<Loaded[P]> } = {
  http1: async () => {
    const [l, c] = await Promise.all([
      import('../adapters/http1/listener.js'),
      import('../adapters/http1/connector.js'),
    ]);
    return { Listener: l.Http1Listener, Connector: c.Http1Connector };
  },
  http2: async () => {
    const [l, c] = await Promise.all([
      import('../adapters/http2/listener.js'),
      import('../adapters/http2/connector.js'),
    ]);
    return { Listener: l.Http2Listener, Connector: c.Http2Connector };
  },
  amqp: async () => {
    const [l, c] = await Promise.all([
      import('../adapters/amqp/listener.js'),
      import('../adapters/amqp/broker.js'),
    ]);
    return { Listener: l.AmqpListener, Connector: c.AmqpBrokerConnector };
  },
  udp: async () => {
    const [l, c] = await Promise.all([
      import('../adapters/udp/listener.js'),
      import('../adapters/udp/connector.js'),
    ]);
    return { Listener: l.UdpListener, Connector: c.UdpConnector };
  },
};

const loaded: Partial<Loaded> = {};

/** Imports the adapters of these resource types that are not loaded yet. Call before `createListener`/`createConnector`. */
export async function loadAdapters(types: Iterable<Protocol>): Promise<void> {
  const wanted = new Set<LazyProtocol>();
  for (const t of types) if (t !== 'tcp' && loaded[t] === undefined) wanted.add(t);
  await Promise.all(
    [...wanted].map(async (t) => {
      const m = await loaders[t]();
      (loaded as Record<LazyProtocol, unknown>)[t] = m;
    }),
  );
}

function adapter<P extends LazyProtocol>(t: P): Loaded[P] {
  const m = loaded[t];
  if (m === undefined) throw new Error(`the ${t} adapter is not loaded (loadAdapters was not called for it)`);
  return m as Loaded[P];
}

/** Copy the optional fields that are set (adapter specs use optional properties, not `undefined` values). */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function listenerBase(r: ListenerResource): ListenerBaseSpec {
  const s = r.spec;
  return {
    name: r.metadata.name,
    routingKey: s.routingKey,
    host: s.host,
    port: s.port,
    distribution: s.distribution,
    ...defined({ allow: s.allow }),
  };
}

function tcpSpec(r: ListenerResource): TcpListenerSpec {
  const s = r.spec;
  return {
    ...listenerBase(r),
    ...defined({ affinity: s.affinity, earlyData: s.earlyData, keys: listenerKeys(s) }),
  };
}

export function createListener(host: AdapterHost, r: ListenerResource, logger: Logger): ListenerAdapter {
  const s = r.spec;
  const base = listenerBase(r);
  switch (s.type) {
    case 'tcp':
      return new TcpListener(host, tcpSpec(r), logger);
    case 'http1':
      return new (adapter('http1').Listener)(
        host,
        {
          ...base,
          ...defined({ affinity: s.affinity, forwardedFor: s.forwardedFor, keys: listenerKeys(s) }),
        },
        logger,
      );
    case 'http2':
      return new (adapter('http2').Listener)(
        host,
        { ...base, ...defined({ tls: s.tls, keys: listenerKeys(s) }) },
        logger,
      );
    case 'amqp':
      return new (adapter('amqp').Listener)(
        host,
        { ...base, ...defined({ multicast: s.multicast, tls: s.tls, users: s.users }) },
        logger,
      );
    case 'udp':
      return new (adapter('udp').Listener)(
        host,
        {
          ...base,
          ...defined({ affinity: s.affinity, idleTimeoutMs: s.idleTimeoutMs, maxSessions: s.maxSessions }),
        },
        logger,
      );
  }
}

/**
 * Gives a running listener a new spec without rebinding its port (resource-diff.ts says which changes qualify).
 * False when this listener cannot: the caller then replaces it.
 */
export function updateListener(l: ListenerAdapter, r: ListenerResource): boolean {
  if (!(l instanceof TcpListener) || r.spec.type !== 'tcp') return false;
  l.update(tcpSpec(r));
  return true;
}

/**
 * Gives a running connector a new spec without stopping it (resource-diff.ts says which changes qualify), so its
 * established flows go on. False when this connector cannot: the caller then replaces it.
 */
export function updateConnector(c: ConnectorAdapter, r: ConnectorResource): boolean {
  if (!(c instanceof TcpConnector) || r.spec.type !== 'tcp' || c.routingKey !== r.spec.routingKey)
    return false;
  c.update(tcpConnectorSpec(r));
  return true;
}

/** What every pooled connector is made from: its name, routing key and targets. */
function connectorBase(r: ConnectorResource): {
  name: string;
  routingKey: string;
  targets: Array<{ host: string; port: number }>;
} {
  const s = r.spec;
  return {
    name: r.metadata.name,
    routingKey: s.routingKey,
    targets: s.targets ?? [{ host: s.host, port: s.port }],
  };
}

function tcpConnectorSpec(r: ConnectorResource): TcpConnectorSpec {
  return { ...connectorBase(r), host: r.spec.host, port: r.spec.port };
}

export function createConnector(host: AdapterHost, r: ConnectorResource, logger: Logger): ConnectorAdapter {
  const s = r.spec;
  const base = connectorBase(r);
  switch (s.type) {
    case 'tcp':
      return new TcpConnector(host, tcpConnectorSpec(r), logger);
    case 'http1':
      return new (adapter('http1').Connector)(
        host,
        { ...base, ...defined({ forwardedFor: s.forwardedFor }) },
        logger,
      );
    case 'http2':
      return new (adapter('http2').Connector)(host, { ...base, ...defined({ tls: s.tls }) }, logger);
    case 'udp':
      return new (adapter('udp').Connector)(
        host,
        { ...base, ...defined({ idleTimeoutMs: s.idleTimeoutMs, maxSessions: s.maxSessions }) },
        logger,
      );
    case 'amqp':
      return new (adapter('amqp').Connector)(
        host,
        {
          name: r.metadata.name,
          routingKey: s.routingKey,
          host: s.host,
          port: s.port,
          ...defined({ address: s.address, username: s.username, passwordFile: s.passwordFile, tls: s.tls }),
        },
        logger,
      );
  }
}
