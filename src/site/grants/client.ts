/**
 * The HTTPS client side of the grant protocol: JSON POSTs to a grant server, trusting only the accepting site's
 * CA (never the system CAs). Connection problems become GRANT_UNREACHABLE naming host:port; a server whose
 * certificate the CA did not sign becomes TOKEN_INVALID; error answers keep the server's stable code.
 */
import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';
import { CaravanError, ErrorCodes, errorMessage, type ErrorCode } from '../../errors.js';
import { connectViaProxy, parseProxyUrl } from '../../http-proxy.js';
import { hostPort } from './logic.js';

const KNOWN_CODES = new Set<string>(Object.values(ErrorCodes));

const TLS_TRUST_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_PURPOSE',
]);

export interface PostOptions {
  /** PEM CA certificate: the only trust anchor. */
  ca: string;
  /** Client certificate and key (mutual TLS, for renewal). */
  cert?: string;
  key?: string;
  timeoutMs?: number;
  /** reach the grant server through this HTTP proxy (CONNECT), as the link does */
  proxy?: string;
}

/** POSTs JSON; resolves with the parsed JSON answer of a 2xx; rejects with CaravanError otherwise. */
export function postJson<T>(url: string, body: unknown, opts: PostOptions): Promise<T> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.reject(
      new CaravanError(ErrorCodes.TOKEN_INVALID, `invalid grant URL ${JSON.stringify(url)}`),
    );
  }
  if (u.protocol !== 'https:') {
    return Promise.reject(new CaravanError(ErrorCodes.TOKEN_INVALID, `grant URL ${url} is not https`));
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 443);
  const where = hostPort(host, port);
  const data = JSON.stringify(body);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  if (opts.proxy === undefined) return send<T>(u, host, port, data, opts, undefined);
  let proxy;
  try {
    proxy = parseProxyUrl(opts.proxy);
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  return connectViaProxy(proxy, host, port, timeoutMs).then(
    (tunnel) => send<T>(u, host, port, data, opts, tunnel),
    (e: unknown) =>
      Promise.reject(
        new CaravanError(
          ErrorCodes.GRANT_UNREACHABLE,
          `cannot reach the grant server at ${where}: ${errorMessage(e)}`,
          {
            cause: e,
          },
        ),
      ),
  );
}

function send<T>(
  u: URL,
  host: string,
  port: number,
  data: string,
  opts: PostOptions,
  tunnel: net.Socket | undefined,
): Promise<T> {
  const where = hostPort(host, port);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const tlsOptions = {
    ca: opts.ca,
    ...(opts.cert !== undefined ? { cert: opts.cert } : {}),
    ...(opts.key !== undefined ? { key: opts.key } : {}),
    // Trust is pinned to the site's CA; sites are often reached by an address that is not in the certificate.
    checkServerIdentity: () => undefined,
    minVersion: 'TLSv1.3' as const,
  };
  return new Promise<T>((resolve, reject) => {
    const req = https.request(
      {
        // Node uses createConnection only without an agent (agent: false would make a fresh one and dial directly)
        ...(tunnel
          ? { createConnection: () => tls.connect({ ...tlsOptions, socket: tunnel }) }
          : { agent: false as const }),
        host,
        port,
        path: u.pathname + u.search,
        method: 'POST',
        ...tlsOptions,
        timeout: timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 1024 * 1024)
            req.destroy(
              new CaravanError(ErrorCodes.PROTOCOL, `grant server at ${where} answered more than 1 MiB`),
            );
          else chunks.push(c);
        });
        res.on('error', (e) =>
          reject(new CaravanError(ErrorCodes.GRANT_UNREACHABLE, `grant server at ${where}: ${e.message}`)),
        );
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            return reject(
              new CaravanError(
                ErrorCodes.PROTOCOL,
                `grant server at ${where} answered HTTP ${res.statusCode} without JSON`,
              ),
            );
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(parsed as T);
          const err = (parsed as { error?: { code?: string; message?: string } }).error;
          const code = err?.code && KNOWN_CODES.has(err.code) ? (err.code as ErrorCode) : ErrorCodes.PROTOCOL;
          reject(new CaravanError(code, err?.message ?? `grant server at ${where} answered HTTP ${status}`));
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (e: Error & { code?: string }) => {
      if (e.code && TLS_TRUST_ERRORS.has(e.code)) {
        return reject(
          new CaravanError(
            ErrorCodes.TOKEN_INVALID,
            `the grant server at ${where} is not the site that issued this token: its certificate is not signed by the token's CA (${e.code})`,
            { cause: e },
          ),
        );
      }
      reject(
        new CaravanError(
          ErrorCodes.GRANT_UNREACHABLE,
          `cannot reach the grant server at ${where}: ${describe(e)}`,
          {
            cause: e,
          },
        ),
      );
    });
    req.end(data);
  });
}

function describe(e: Error & { code?: string }): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the site running and the grant port open?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ETIMEDOUT':
      return 'timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to host';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      return errorMessage(e);
  }
}
