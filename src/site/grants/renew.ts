/**
 * Certificate renewal at the dialing site: for every link made by redeeming a token (its runtime/links/<name>/
 * holds grant.json), the router asks the accepting site's grant server for a new certificate once less than a
 * third of the current one's lifetime remains. It authenticates with the current certificate (mutual TLS) and
 * keeps the link's key, so only client.crt changes (one atomic write); the running link is not touched — the new
 * certificate serves the next connection.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CaravanError, ErrorCodes, errorMessage } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { writeFileAtomic } from '../atomic.js';
import { loadCerts } from '../certs/lazy.js';
import { peekCertificate } from '../certs/peek.js';
import { postJson } from './client.js';
import { renewalDueAt, renewalRetryMs } from './logic.js';
import { readJson, writeJson, type LinkGrantInfo } from './state.js';
import { routerProof, type RouterIdentity } from '../../identity.js';

export interface LinkRenewerOptions {
  /** link name (the link id at this router) */
  link: string;
  /** absolute paths of the link's TLS files */
  tls: { ca: string; cert: string; key: string };
  /** the link's HTTP proxy: renewal reaches the grant server the way the link reaches its peer */
  proxy?: string;
  logger: Logger;
  /** this router's identity: the renewal proves the new certificate's key is this router's */
  identity: RouterIdentity;
  /** the certificate file was replaced */
  onRenewed: () => void | Promise<void>;
}

/** Longest single timer; the schedule is re-evaluated at least this often. */
const MAX_TIMER_MS = 60_000;

export class LinkRenewer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly log: Logger;
  private failures = 0;

  private constructor(
    private readonly opts: LinkRenewerOptions,
    private readonly grantFile: string,
  ) {
    this.log = opts.logger.child({ subsystem: 'renewal', link: opts.link });
  }

  /** grant.json beside the link's certificate. */
  static grantFileOf(tls: { cert: string }): string {
    return join(dirname(tls.cert), 'grant.json');
  }

  /** A renewer for the link, or undefined when the link was not made from a token (nothing to renew with). */
  static async create(opts: LinkRenewerOptions): Promise<LinkRenewer | undefined> {
    const file = LinkRenewer.grantFileOf(opts.tls);
    const info = await readJson<LinkGrantInfo>(file).catch(() => undefined);
    if (!info?.renewUrl) return undefined;
    return new LinkRenewer(opts, file);
  }

  start(): void {
    void this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private setTimer(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), Math.max(0, Math.min(ms, MAX_TIMER_MS)));
    this.timer.unref?.();
  }

  /** When the current certificate is due; re-read every time (the files may have been replaced). */
  private async dueAt(): Promise<{
    dueAt: number;
    lifetimeMs: number;
    notAfter: number;
    wrongName: boolean;
  }> {
    const info = await readJson<LinkGrantInfo>(this.grantFile);
    const cert = peekCertificate(await readFile(this.opts.tls.cert, 'utf8'));
    const notAfter = cert.notAfter.getTime();
    const lifetimeMs =
      info?.lifetimeMs && info.lifetimeMs > 0 ? info.lifetimeMs : notAfter - cert.notBefore.getTime();
    // A certificate from before router identities names the site, not the router: links with it are refused,
    // so it is renewed at once (the grant server then issues one naming the router id).
    const wrongName = cert.commonName !== this.opts.identity.routerId;
    return {
      dueAt: wrongName ? Date.now() : renewalDueAt(notAfter, lifetimeMs),
      lifetimeMs,
      notAfter,
      wrongName,
    };
  }

  private async schedule(): Promise<void> {
    if (this.stopped) return;
    try {
      const { dueAt, notAfter } = await this.dueAt();
      const delay = dueAt - Date.now();
      this.log.debug('certificate renewal scheduled', {
        inMs: Math.max(0, delay),
        notAfter: new Date(notAfter).toISOString(),
      });
      this.setTimer(delay);
    } catch (e) {
      this.log.error('certificate renewal cannot be scheduled', { error: errorMessage(e) });
      this.setTimer(MAX_TIMER_MS);
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let due: Awaited<ReturnType<LinkRenewer['dueAt']>>;
    try {
      due = await this.dueAt();
    } catch (e) {
      this.log.error('certificate renewal cannot be scheduled', { error: errorMessage(e) });
      return this.setTimer(MAX_TIMER_MS);
    }
    if (Date.now() < due.dueAt && !due.wrongName) return this.setTimer(due.dueAt - Date.now());
    try {
      await this.renewNow();
      this.failures = 0;
    } catch (e) {
      this.failures++;
      const retry = renewalRetryMs(due.lifetimeMs) * Math.min(this.failures, 4);
      const code = e instanceof CaravanError ? e.code : undefined;
      this.log.error('certificate renewal failed', {
        error: errorMessage(e),
        code,
        attempt: this.failures,
        retryInMs: retry,
        notAfter: new Date(due.notAfter).toISOString(),
      });
      return this.setTimer(retry);
    }
    await this.schedule();
  }

  /** Renews the certificate now (one at a time). */
  renewNow(): Promise<void> {
    const run = async (): Promise<void> => {
      const info = await readJson<LinkGrantInfo>(this.grantFile);
      if (!info?.renewUrl) {
        throw new CaravanError(ErrorCodes.CONFIG_IO, `${this.grantFile} does not say where to renew`);
      }
      const [ca, cert, key] = await Promise.all([
        readFile(this.opts.tls.ca, 'utf8'),
        readFile(this.opts.tls.cert, 'utf8'),
        readFile(this.opts.tls.key, 'utf8'),
      ]);
      const current = (await loadCerts()).certificateInfo(cert);
      const certs = await loadCerts();
      const csr = await certs.createCsrForKey({ keyPem: key, commonName: this.opts.identity.routerId });
      const router = routerProof(this.opts.identity, await certs.csrPublicKey(csr));
      const answer = await postJson<{ certificate?: unknown; lifetimeMs?: unknown }>(
        info.renewUrl,
        { csr, router },
        { ca, cert, key, ...(this.opts.proxy !== undefined ? { proxy: this.opts.proxy } : {}) },
      );
      if (typeof answer.certificate !== 'string') {
        throw new CaravanError(ErrorCodes.PROTOCOL, 'the grant server sent no certificate');
      }
      if (!(await (await loadCerts()).verifyIssuedBy(answer.certificate, ca))) {
        throw new CaravanError(ErrorCodes.CERT, "the renewed certificate is not issued by the link's CA");
      }
      const next = (await loadCerts()).certificateInfo(answer.certificate);
      if (next.commonName !== this.opts.identity.routerId) {
        throw new CaravanError(
          ErrorCodes.PEER_IDENTITY,
          `the renewed certificate names ${JSON.stringify(next.commonName)}, not this router`,
        );
      }
      await writeFileAtomic(this.opts.tls.cert, answer.certificate);
      const lifetimeMs =
        typeof answer.lifetimeMs === 'number' && answer.lifetimeMs > 0 ? answer.lifetimeMs : info.lifetimeMs;
      if (lifetimeMs !== info.lifetimeMs || info.commonName !== next.commonName) {
        await writeJson(this.grantFile, { ...info, lifetimeMs, commonName: next.commonName });
      }
      this.log.info('link certificate renewed', {
        serial: next.serialNumber,
        previous: current.serialNumber,
        notAfter: next.notAfter.toISOString(),
      });
      await this.opts.onRenewed();
    };
    const p = (this.running ?? Promise.resolve()).then(run, run);
    this.running = p.catch(() => undefined);
    return p;
  }
}
