/**
 * The adapter registry: which listener and connector implementation serves each resource `type`.
 * Adapters never import each other; the composition root picks them here.
 */
import { AmqpBrokerConnector } from '../adapters/amqp/broker.js';
import { AmqpListener } from '../adapters/amqp/listener.js';
import { Http1Connector } from '../adapters/http1/connector.js';
import { Http1Listener } from '../adapters/http1/listener.js';
import { Http2Connector } from '../adapters/http2/connector.js';
import { Http2Listener } from '../adapters/http2/listener.js';
import { TcpConnector } from '../adapters/tcp/connector.js';
import { TcpListener, type TcpListenerSpec } from '../adapters/tcp/listener.js';
import type { ListenerBaseSpec } from '../adapters/common/spec-adapter.js';
import { UdpConnector } from '../adapters/udp/connector.js';
import { UdpListener } from '../adapters/udp/listener.js';
import { listenerKeys, type ConnectorResource, type ListenerResource } from '../api/index.js';
import type { Logger } from '../observe/log.js';
import type { AdapterHost, ConnectorAdapter, ListenerAdapter } from '../router/contract.js';

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
      return new Http1Listener(
        host,
        {
          ...base,
          ...defined({ affinity: s.affinity, forwardedFor: s.forwardedFor, keys: listenerKeys(s) }),
        },
        logger,
      );
    case 'http2':
      return new Http2Listener(host, { ...base, ...defined({ tls: s.tls, keys: listenerKeys(s) }) }, logger);
    case 'amqp':
      return new AmqpListener(
        host,
        { ...base, ...defined({ multicast: s.multicast, tls: s.tls, users: s.users }) },
        logger,
      );
    case 'udp':
      return new UdpListener(
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

export function createConnector(host: AdapterHost, r: ConnectorResource, logger: Logger): ConnectorAdapter {
  const s = r.spec;
  const base = {
    name: r.metadata.name,
    routingKey: s.routingKey,
    targets: s.targets ?? [{ host: s.host, port: s.port }],
  };
  switch (s.type) {
    case 'tcp':
      return new TcpConnector(host, { ...base, host: s.host, port: s.port }, logger);
    case 'http1':
      return new Http1Connector(host, { ...base, ...defined({ forwardedFor: s.forwardedFor }) }, logger);
    case 'http2':
      return new Http2Connector(host, { ...base, ...defined({ tls: s.tls }) }, logger);
    case 'udp':
      return new UdpConnector(
        host,
        { ...base, ...defined({ idleTimeoutMs: s.idleTimeoutMs, maxSessions: s.maxSessions }) },
        logger,
      );
    case 'amqp':
      return new AmqpBrokerConnector(
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
