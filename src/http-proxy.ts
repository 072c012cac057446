/**
 * Links through an HTTP proxy (corporate networks where the only way out is a proxy such as squid or tinyproxy):
 * a TCP connection to the proxy, `CONNECT host:port`, and on `200` the socket is a plain tunnel to the peer over
 * which the link (or a grant request) runs its own TLS. The proxy sees only the peer's address, never the traffic.
 */
import net from 'node:net';
import { CaravanError, ErrorCodes } from './errors.js';

export interface ProxyConfig {
  host: string;
  port: number;
  /** `Proxy-Authorization: Basic …` from the URL's user and password */
  authorization?: string;
  /** the URL without its password, for logs and status */
  display: string;
}

/** Largest proxy answer head accepted. */
const MAX_HEAD = 16 * 1024;

/** Parses `http://[user[:password]@]host[:port]` (port default 80); throws INVALID_RESOURCE when invalid. */
export function parseProxyUrl(url: string): ProxyConfig {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CaravanError(ErrorCodes.INVALID_RESOURCE, `proxy ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== 'http:')
    throw new CaravanError(
      ErrorCodes.INVALID_RESOURCE,
      `proxy ${u.protocol}// is not supported: use http://`,
    );
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new CaravanError(ErrorCodes.INVALID_RESOURCE, `proxy ${JSON.stringify(url)} has no host`);
  const port = Number(u.port || 80);
  const cfg: ProxyConfig = { host, port, display: `http://${u.username ? `${u.username}@` : ''}${u.host}` };
  if (u.username || u.password) {
    const cred = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    cfg.authorization = `Basic ${Buffer.from(cred, 'utf8').toString('base64')}`;
  }
  return cfg;
}

/** `host:port` as a CONNECT target (IPv6 literals in brackets). */
function authority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Opens a tunnel to `host:port` through the proxy for a protocol whose client speaks first (TLS). Resolves with the
 * connected socket once the proxy answered 2xx; rejects with LINK_PROXY naming the proxy's status, or LINK_TIMEOUT.
 */
export function connectViaProxy(
  proxy: ProxyConfig,
  host: string,
  port: number,
  timeoutMs = 10_000,
): Promise<net.Socket> {
  const target = authority(host, port);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: proxy.host, port: proxy.port });
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener('readable', onReadable);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(socket);
    };
    const timer = setTimeout(
      () =>
        finish(
          new CaravanError(
            ErrorCodes.LINK_TIMEOUT,
            `proxy ${proxy.display}: no answer to CONNECT ${target} within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    const onError = (e: Error): void =>
      finish(new CaravanError(ErrorCodes.LINK_PROXY, `proxy ${proxy.display}: ${e.message}`, { cause: e }));
    const onClose = (): void =>
      finish(
        new CaravanError(
          ErrorCodes.LINK_PROXY,
          `proxy ${proxy.display} closed the connection before answering`,
        ),
      );
    // 'readable' and read(), not 'data': the socket never enters flowing mode, so nothing is lost between the
    // proxy's answer and the TLS layer taking the socket over
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!done && (chunk = socket.read() as Buffer | null) !== null) onData(chunk);
    };
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD)
          finish(new CaravanError(ErrorCodes.LINK_PROXY, `proxy ${proxy.display}: answer head too large`));
        return;
      }
      const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
      if (!m) {
        finish(new CaravanError(ErrorCodes.LINK_PROXY, `proxy ${proxy.display}: not an HTTP answer`));
        return;
      }
      const status = Number(m[1]);
      if (status < 200 || status > 299) {
        const hint =
          status === 407 || status === 401 ? ' (wrong or missing credentials in the proxy URL)' : '';
        finish(
          new CaravanError(
            ErrorCodes.LINK_PROXY,
            `proxy ${proxy.display} refused CONNECT ${target}: ${status} ${m[2] ?? ''}`.trimEnd() + hint,
          ),
        );
        return;
      }
      // the peer speaks TLS and waits for our ClientHello: anything here is not from it
      if (head.length > end + 4) {
        finish(
          new CaravanError(
            ErrorCodes.LINK_PROXY,
            `proxy ${proxy.display}: unexpected bytes after its answer`,
          ),
        );
        return;
      }
      finish();
    };
    socket.on('readable', onReadable);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once('connect', () => {
      const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`];
      if (proxy.authorization) lines.push(`Proxy-Authorization: ${proxy.authorization}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  });
}
