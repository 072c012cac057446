/**
 * The adapter registry: which listener and connector implementation serves each resource `type`.
 * Adapters never import each other; the composition root picks them here.
 */
import { Http1Connector } from '../adapters/http1/connector.js';
import { Http1Listener } from '../adapters/http1/listener.js';
import { Http2Connector } from '../adapters/http2/connector.js';
import { Http2Listener } from '../adapters/http2/listener.js';
import { TcpConnector } from '../adapters/tcp/connector.js';
import { TcpListener } from '../adapters/tcp/listener.js';
import { UdpConnector } from '../adapters/udp/connector.js';
import { UdpListener } from '../adapters/udp/listener.js';
import type { ConnectorResource, ListenerResource } from '../api/index.js';
import type { Logger } from '../observe/log.js';
import type { AdapterHost, ConnectorAdapter, ListenerAdapter } from '../router/contract.js';

export function createListener(host: AdapterHost, r: ListenerResource, logger: Logger): ListenerAdapter {
  switch (r.spec.type) {
    case 'http1':
      return new Http1Listener(
        host,
        {
          name: r.metadata.name,
          routingKey: r.spec.routingKey,
          host: r.spec.host,
          port: r.spec.port,
          distribution: r.spec.distribution,
          ...(r.spec.affinity ? { affinity: r.spec.affinity } : {}),
          ...(r.spec.forwardedFor !== undefined ? { forwardedFor: r.spec.forwardedFor } : {}),
        },
        logger,
      );
    case 'udp':
      return new UdpListener(
        host,
        {
          name: r.metadata.name,
          routingKey: r.spec.routingKey,
          host: r.spec.host,
          port: r.spec.port,
          distribution: r.spec.distribution,
          ...(r.spec.affinity ? { affinity: r.spec.affinity } : {}),
          ...(r.spec.idleTimeoutMs !== undefined ? { idleTimeoutMs: r.spec.idleTimeoutMs } : {}),
          ...(r.spec.maxSessions !== undefined ? { maxSessions: r.spec.maxSessions } : {}),
        },
        logger,
      );
    case 'http2':
      return new Http2Listener(
        host,
        {
          name: r.metadata.name,
          routingKey: r.spec.routingKey,
          host: r.spec.host,
          port: r.spec.port,
          distribution: r.spec.distribution,
          ...(r.spec.tls ? { tls: r.spec.tls } : {}),
        },
        logger,
      );
    case 'tcp':
      return new TcpListener(
        host,
        {
          name: r.metadata.name,
          routingKey: r.spec.routingKey,
          host: r.spec.host,
          port: r.spec.port,
          distribution: r.spec.distribution,
          ...(r.spec.affinity ? { affinity: r.spec.affinity } : {}),
        },
        logger,
      );
  }
}

export function createConnector(host: AdapterHost, r: ConnectorResource, logger: Logger): ConnectorAdapter {
  switch (r.spec.type) {
    case 'http1':
      return new Http1Connector(
        host,
        {
          name: r.metadata.name,
          routingKey: r.spec.routingKey,
          targets: r.spec.targets ?? [{ host: r.spec.host, port: r.spec.port }],
          ...(r.spec.forwardedFor !== undefined ? { forwardedFor: r.spec.forwardedFor } : {}),
        },
        logger,
      );
    case 'udp':
      return new UdpConnector(
        host,
        {
          name: r.metadata.name,
          routingKey: r.spec.routingKey,
          targets: r.spec.targets ?? [{ host: r.spec.host, port: r.spec.port }],
          ...(r.spec.idleTimeoutMs !== undefined ? { idleTimeoutMs: r.spec.idleTimeoutMs } : {}),
          ...(r.spec.maxSessions !== undefined ? { maxSessions: r.spec.maxSessions } : {}),
        },
        logger,
      );
    case 'http2':
      return new Http2Connector(
        host,
        {
          name: r.metadata.name,
          routingKey: r.spec.routingKey,
          targets: r.spec.targets ?? [{ host: r.spec.host, port: r.spec.port }],
          ...(r.spec.tls ? { tls: r.spec.tls } : {}),
        },
        logger,
      );
    case 'tcp':
      return new TcpConnector(
        host,
        {
          name: r.metadata.name,
          routingKey: r.spec.routingKey,
          host: r.spec.host,
          port: r.spec.port,
          ...(r.spec.targets ? { targets: r.spec.targets } : {}),
        },
        logger,
      );
  }
}
