import http from 'node:http';
import { CaravanError, ErrorCodes } from '../errors.js';
import type { ReloadResult, StatusSnapshot } from './types.js';

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

  private request<T>(method: string, path: string, okCodes: number[] = [200]): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.socketPath, path, method: 'GET', timeout: this.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              return reject(
                new CaravanError(ErrorCodes.PROTOCOL, `admin API returned non-JSON (${res.statusCode})`),
              );
            }
            if (!okCodes.includes(res.statusCode ?? 0)) {
              const msg =
                (body as { error?: { message?: string } }).error?.message ?? `HTTP ${res.statusCode}`;
              return reject(new CaravanError(ErrorCodes.PROTOCOL, `admin API: ${msg}`));
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
      req.end();
    });
  }
}
