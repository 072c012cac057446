/**
 * The adapter registry: which listener and connector implementation serves each resource `type`.
 * Adapters never import each other; the composition root picks them here.
 */
import { TcpConnector } from '../adapters/tcp/connector.js';
import { TcpListener } from '../adapters/tcp/listener.js';
import type { ConnectorResource, ListenerResource } from '../api/index.js';
import type { Logger } from '../observe/log.js';
import type { AdapterHost, ConnectorAdapter, ListenerAdapter } from '../router/contract.js';

export function createListener(host: AdapterHost, r: ListenerResource, logger: Logger): ListenerAdapter {
  switch (r.spec.type) {
    case 'tcp':
      return new TcpListener(
        host,
        {
          name: r.metadata.name,
          routingKey: r.spec.routingKey,
          host: r.spec.host,
          port: r.spec.port,
          distribution: r.spec.distribution,
        },
        logger,
      );
  }
}

export function createConnector(host: AdapterHost, r: ConnectorResource, logger: Logger): ConnectorAdapter {
  switch (r.spec.type) {
    case 'tcp':
      return new TcpConnector(
        host,
        { name: r.metadata.name, routingKey: r.spec.routingKey, host: r.spec.host, port: r.spec.port },
        logger,
      );
  }
}
