import http from 'node:http';
import { CaravanError, ErrorCodes, type ErrorCode } from '../errors.js';
import type { NetworkModel } from '../observe/model.js';
import type { FlowsResult, ReloadResult, RevokeResult, StatusSnapshot } from './types.js';

/** Typed client of the admin API; the only door the CLI, console and tests use to reach a router. */
export class AdminClient {
  constructor(
    private readonly socketPath: string,
    private readonly timeoutMs = 5000,
  ) {}

  status(): Promise<StatusSnapshot> {
    return this.request<StatusSnapshot>('GET', '/v1/status');
  }

  /** Re-read the site directory now; resolves with what changed (or why nothing could be applied). */
  reload(): Promise<ReloadResult> {
    return this.request<ReloadResult>('POST', '/v1/reload', [200, 422]);
  }

  /**
   * Cut and refuse the links this site issued to `target` (a site, link or grant name). Rejects with
   * CaravanError(LINK_NOT_FOUND) when it issued none.
   */
  revokeLink(target: string): Promise<RevokeResult> {
    return this.request<RevokeResult>('POST', '/v1/links/revoke', [200], { target });
  }

  /** The network model, built by the router network-wide (it asks every reachable router). */
  network(): Promise<NetworkModel> {
    return this.request<NetworkModel>('GET', '/v1/network');
  }

  /** Flow records network-wide, newest first. */
  flows(q: { service?: string; site?: string; limit?: number } = {}): Promise<FlowsResult> {
    const p = new URLSearchParams();
    if (q.service !== undefined) p.set('service', q.service);
    if (q.site !== undefined) p.set('site', q.site);
    if (q.limit !== undefined) p.set('limit', String(q.limit));
    const qs = p.toString();
    return this.request<FlowsResult>('GET', `/v1/flows${qs ? `?${qs}` : ''}`);
  }

  /** This router's metrics in the Prometheus text format. */
  metrics(): Promise<string> {
    return this.request<string>('GET', '/v1/metrics', [200], undefined, true);
  }

  private request<T>(
    method: string,
    path: string,
    okCodes: number[] = [200],
    payload?: unknown,
    text = false,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const data = payload === undefined ? undefined : JSON.stringify(payload);
      const req = http.request(
        {
          socketPath: this.socketPath,
          path,
          method,
          timeout: this.timeoutMs,
          ...(data !== undefined
            ? { headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }
            : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            if (text && okCodes.includes(res.statusCode ?? 0)) return resolve(raw as T);
            let body: unknown;
            try {
              body = JSON.parse(raw);
            } catch {
              return reject(
                new CaravanError(ErrorCodes.PROTOCOL, `admin API returned non-JSON (${res.statusCode})`),
              );
            }
            if (!okCodes.includes(res.statusCode ?? 0)) {
              const err = (body as { error?: { code?: string; message?: string } }).error;
              const msg = err?.message ?? `HTTP ${res.statusCode}`;
              const known = Object.values(ErrorCodes) as string[];
              const code =
                err?.code && known.includes(err.code) ? (err.code as ErrorCode) : ErrorCodes.PROTOCOL;
              return reject(new CaravanError(code, code === ErrorCodes.PROTOCOL ? `admin API: ${msg}` : msg));
            }
            resolve(body as T);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`admin API did not answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) =>
        reject(
          new CaravanError(
            ErrorCodes.LINK_CLOSED,
            `cannot reach the router at ${this.socketPath}: ${err.message}`,
          ),
        ),
      );
      req.end(data);
    });
  }
}
