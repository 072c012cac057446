/**
 * Renewal of the site's own server certificate (runtime/server.crt: the link acceptor's and the grant server's
 * certificate, signed by the site CA). It is issued for 90 days when the site is created; without renewal every
 * link to the site would fail once it expires, since dialers check its dates. The router renews it itself, with
 * the site CA's key, once less than a third of its lifetime remains: same key (only server.crt changes, in one
 * atomic write), same subject and names. The caller then loads it into the running servers, so new handshakes
 * use it and the links already up are not touched.
 */
import { readFile } from 'node:fs/promises';
import type { Clock, Timer } from '../clock.js';
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { writeFileAtomic } from './atomic.js';
import { CLOCK_SKEW_MS } from './certs/validity.js';
import { loadCerts } from './certs/lazy.js';
import { peekCertificate } from './certs/peek.js';
import { renewalDueAt, renewalRetryMs } from './grants/logic.js';
import { fileExists, sitePaths } from './grants/state.js';

/** Longest single wait: the schedule is looked at again at least this often (the files may be replaced). */
const MAX_WAIT_MS = 3600_000;

export interface ServerCertRenewalOptions {
  /** the site directory (runtime/server.crt, server.key, ca.crt, ca.key) */
  dir: string;
  clock: Clock;
  logger: Logger;
  /** server.crt was replaced: load it into the servers that use it */
  onRenewed: () => void | Promise<void>;
}

export class ServerCertRenewal {
  private timer: Timer | undefined;
  private stopped = false;
  private failures = 0;
  private renewedAt: number | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: ServerCertRenewalOptions) {
    this.log = opts.logger.child({ subsystem: 'renewal', cert: 'server' });
  }

  /** Looks at the certificate now (renewing it when due) and then whenever it falls due. */
  start(): Promise<void> {
    return this.tick();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private wait(ms: number): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = this.opts.clock
      .setTimeout(() => void this.tick(), Math.max(0, Math.min(ms, MAX_WAIT_MS)))
      .unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const p = sitePaths(this.opts.dir);
    // a site whose CA key is kept elsewhere has its server certificate managed elsewhere too
    if (!(await fileExists(p.serverCert)) || !(await fileExists(p.caKey))) return;
    let dueAt: number;
    let lifetimeMs: number;
    try {
      const info = peekCertificate(await readFile(p.serverCert, 'utf8'));
      lifetimeMs = info.notAfter.getTime() - info.notBefore.getTime();
      dueAt = renewalDueAt(info.notAfter.getTime(), lifetimeMs);
    } catch (e) {
      this.log.error('server certificate unreadable; renewal looks again later', { error: errorMessage(e) });
      return this.wait(MAX_WAIT_MS);
    }
    const now = this.opts.clock.now();
    if (now >= dueAt && this.renewedAt !== undefined && now - this.renewedAt < renewalRetryMs(lifetimeMs)) {
      // due again right after a renewal: the site CA expires before a new certificate's lifetime is over (a
      // certificate never outlives its CA), so renewing more often would not help
      this.log.warn('server certificate still due right after its renewal: the site CA expires soon', {
        notAfter: new Date(dueAt + lifetimeMs / 3).toISOString(),
      });
      return this.wait(MAX_WAIT_MS);
    }
    if (now < dueAt) {
      this.log.debug('server certificate renewal scheduled', { inMs: dueAt - now });
      return this.wait(dueAt - now);
    }
    try {
      const notAfter = await this.renewNow(lifetimeMs);
      this.renewedAt = this.opts.clock.now();
      this.failures = 0;
      this.log.info('server certificate renewed', { notAfter: new Date(notAfter).toISOString() });
      await this.opts.onRenewed();
    } catch (e) {
      this.failures++;
      const retry = renewalRetryMs(lifetimeMs) * Math.min(this.failures, 4);
      this.log.error('server certificate renewal failed', {
        error: errorMessage(e),
        attempt: this.failures,
        retryInMs: retry,
      });
      return this.wait(retry);
    }
    return this.tick();
  }

  /** Signs a new server.crt for the same key, subject and names, valid from about now for `lifetimeMs`. */
  private async renewNow(lifetimeMs: number): Promise<number> {
    const p = sitePaths(this.opts.dir);
    const [caCert, caKey, current, key] = await Promise.all([
      readFile(p.caCert, 'utf8'),
      readFile(p.caKey, 'utf8'),
      readFile(p.serverCert, 'utf8'),
      readFile(p.serverKey, 'utf8'),
    ]);
    const certs = await loadCerts();
    const info = certs.certificateInfo(current);
    if (!info.commonName) {
      throw new CaravanError(ErrorCodes.CERT, `${p.serverCert} names no subject CN; it cannot be renewed`);
    }
    const organization = info.organization;
    const csr = await certs.createCsrForKey({ keyPem: key, commonName: info.commonName });
    const pem = await certs.signCsr({ certPem: caCert, keyPem: caKey }, csr, {
      usage: 'server',
      dnsNames: info.dnsNames,
      ips: info.ips,
      // valid from a little before now (clock skew between sites), for the lifetime the current one has
      validityMs: lifetimeMs,
      notBefore: new Date(this.opts.clock.now() - Math.min(CLOCK_SKEW_MS, lifetimeMs / 10)),
      subject: organization ? { commonName: info.commonName, organization } : { commonName: info.commonName },
    });
    await writeFileAtomic(p.serverCert, pem);
    return certs.certificateInfo(pem).notAfter.getTime();
  }
}
