import type net from 'node:net';
import { CaravanError, ErrorCodes } from '../../errors.js';
import { systemClock } from '../../clock.js';
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
 * logged, rate-limited, and never thrown.
 */
export function listenServer(
  server: net.Server,
  spec: { name: string; host: string; port: number },
  log: Logger,
  fields: Record<string, unknown> = {},
): Promise<void> {
  const where = `${spec.host}:${spec.port}`;
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(listenError(spec.name, where, err));
    server.once('error', onError);
    server.listen({ host: spec.host, port: spec.port }, () => {
      server.removeListener('error', onError);
      const errors = new RateLimitedLog({
        logger: log,
        clock: systemClock,
        message: 'listener error',
        level: 'error',
      });
      server.on('error', (err: NodeJS.ErrnoException) =>
        errors.event(err.code ?? 'error', { error: err.message }),
      );
      server.once('close', () => errors.close());
      const port = boundPort(server) ?? spec.port;
      log.info('listening', { address: `${spec.host}:${port}`, ...fields });
      resolve();
    });
  });
}

/** The port a listening server is bound to; undefined before it listens. */
export function boundPort(server: net.Server | undefined): number | undefined {
  const a = server?.address();
  return a && typeof a === 'object' ? a.port : undefined;
}
