import type net from 'node:net';
import { CaravanError, ErrorCodes } from '../errors.js';

/**
 * What every stream server of a router (link access, grant port, listeners) does the same way: bind with a typed
 * error, report the port it is bound to, and close while cutting the connections that would keep it open.
 */

/**
 * Binds `server` to host:port (port 0: one the system picks; see boundPort). Resolves once it listens; an error
 * before that rejects with `toError(err)`. Errors after binding are the caller's to handle.
 */
export function bindServer(
  server: net.Server,
  at: { host: string; port: number },
  toError: (err: NodeJS.ErrnoException) => Error,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(toError(err));
    server.once('error', onError);
    server.listen({ host: at.host, port: at.port }, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
}

/** `<subject> is already in use` (PORT_IN_USE) or `<subject> cannot be used: <why>` (CONFIG_IO). */
export function portError(subject: string, err: NodeJS.ErrnoException): CaravanError {
  return err.code === 'EADDRINUSE'
    ? new CaravanError(ErrorCodes.PORT_IN_USE, `${subject} is already in use`, { cause: err })
    : new CaravanError(ErrorCodes.CONFIG_IO, `${subject} cannot be used: ${err.message}`, { cause: err });
}

/** The port a listening server is bound to; undefined before it listens. */
export function boundPort(server: net.Server | undefined): number | undefined {
  const a = server?.address();
  return a && typeof a === 'object' ? a.port : undefined;
}

/**
 * Stops accepting and resolves once the server has closed. `cut` ends what would keep it open (the accepted
 * sockets or sessions); it runs right after close() is asked for, so nothing accepted in between is missed.
 */
export function closeServer(server: net.Server, cut: () => void): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    cut();
  });
}
