/** The TLS side of a listener (http2, amqp): its certificate and key, and the clients' CA when it requires one. */
import { readFile } from 'node:fs/promises';
import type tls from 'node:tls';
import { CaravanError, ErrorCodes, errorMessage } from '../../errors.js';

export interface ServerTlsFiles {
  cert: string;
  key: string;
  /** require a client certificate issued by this CA (PEM); absent: clients need none */
  clientCa?: string;
}

/** Reads the files into options for tls.createServer; a file that cannot be read is CONFIG_IO naming the listener. */
export async function serverTlsOptions(files: ServerTlsFiles, listener: string): Promise<tls.TlsOptions> {
  try {
    const [cert, key, ca] = await Promise.all([
      readFile(files.cert),
      readFile(files.key),
      files.clientCa !== undefined ? readFile(files.clientCa) : undefined,
    ]);
    return ca ? { cert, key, ca, requestCert: true, rejectUnauthorized: true } : { cert, key };
  } catch (e) {
    throw new CaravanError(
      ErrorCodes.CONFIG_IO,
      `listener ${listener}: cannot read TLS files: ${errorMessage(e)}`,
      {
        cause: e,
      },
    );
  }
}
