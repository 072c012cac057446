import type net from 'node:net';
import type { Clock } from '../../clock.js';
import { CaravanError, ErrorCodes } from '../../errors.js';
import { bindServer, boundPort } from '../../net/server.js';
import type { Logger } from '../../observe/log.js';
import { RateLimitedLog } from '../../observe/rate-limited-log.js';

/** The typed error for a listener that cannot bind: PORT_IN_USE for a taken port, CONFIG_IO otherwise. */
export function listenError(listener: string, where: string, err: NodeJS.ErrnoException): CaravanError {
  return err.code === 'EADDRINUSE'
    ? new CaravanError(ErrorCodes.PORT_IN_USE, `listener ${listener}: ${where} is already in use`, {
        cause: err,
      })
    : new CaravanError(
        ErrorCodes.CONFIG_IO,
        `listener ${listener}: cannot listen on ${where}: ${err.message}`,
        {
          cause: err,
        },
      );
}

/**
 * Bind a stream server (net, http, http2 or tls) for a listener: resolves once listening, rejects with
 * listenError(); later server errors (EMFILE/ENFILE from accept when the process is out of file descriptors) are
 * logged, rate-limited on `clock`, and never thrown.
 */
export async function listenServer(
  server: net.Server,
  spec: { name: string; host: string; port: number },
  log: Logger,
  clock: Clock,
  fields: Record<string, unknown> = {},
): Promise<void> {
  await bindServer(server, spec, (err) => listenError(spec.name, `${spec.host}:${spec.port}`, err));
  const errors = new RateLimitedLog({ logger: log, clock, message: 'listener error', level: 'error' });
  server.on('error', (err: NodeJS.ErrnoException) =>
    errors.event(err.code ?? 'error', { error: err.message }),
  );
  server.once('close', () => errors.close());
  const port = boundPort(server) ?? spec.port;
  log.info('listening', { address: `${spec.host}:${port}`, ...fields });
}
