/**
 * The grant server (runs inside the router of a site that accepts links): HTTPS on the link access host and
 * `grantPort`, with the site's server certificate.
 *
 * - `POST /v1/grants/<name>` `{code, csr, site, router: {id, key, proof}, link?}` → `{certificate, ca, endpoints,
 *   linkName, site, routerId, cost, lifetimeMs}`: redeems a grant — checks the code (only its hash is stored),
 *   expiry and redemptions, checks that the redeemer's router id belongs to its site and that the router's key
 *   signed the CSR's key (src/identity.ts), signs the CSR with the site CA as a link client certificate whose
 *   subject the server sets (CN = router id, O = site; the CSR's own subject is ignored), counts the redemption
 *   and records the certificate.
 * - `POST /v1/renew` `{csr, router}` over mutual TLS with the current link certificate → `{certificate, ca,
 *   lifetimeMs}`: a new certificate for the same router, unless the link was revoked.
 *
 * Errors are `{error: {code, message}}` with a stable code (CARAVAN_GRANT_*, CARAVAN_LINK_REVOKED, ...) and a 4xx.
 * Unexpected failures answer 500 with a generic message and a log id; their details stay in the log.
 */
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { tryParseDuration, type AccessGrantResource } from '../../api/index.js';
import { CaravanError, ErrorCodes, errorMessage, type ErrorCode } from '../../errors.js';
import { publicError } from '../../observe/public-error.js';
import { systemClock, type Clock } from '../../clock.js';
import { AcceptGuard } from '../../net/accept-guard.js';
import { bindServer, boundPort, closeServer, portError } from '../../net/server.js';
import type { LogFields, Logger } from '../../observe/log.js';
import { RateLimitedLog } from '../../observe/rate-limited-log.js';
import { provenRouterId } from '../../identity.js';
import { isName } from '../../names.js';
import { loadCerts } from '../certs/lazy.js';
import { readSiteResources } from '../site-dir.js';
import {
  DEFAULT_LINK_CERT_LIFETIME_MS,
  codeMatches,
  decideRedemption,
  grantNameFromPath,
  hashCode,
  normalizeSerial,
  tokenHosts,
} from './logic.js';
import {
  RevocationSet,
  readIssued,
  readJson,
  sitePaths,
  writeJson,
  type IssuedCert,
  type RedemptionState,
} from './state.js';

export interface GrantServerOptions {
  /** absolute site directory */
  dir: string;
  siteName: string;
  /** this site's router id, handed to redeemers so their link checks it reached this router */
  routerId: string;
  /** bind address and port (0 = any free port) */
  host: string;
  port: number;
  /** the site's link access (for the endpoints handed to redeemers) */
  linkAccess: { host: string; hosts?: string[] };
  /** the port links are accepted on, once known */
  linkPort: () => number | undefined;
  /** absolute paths of the site's CA certificate and server certificate/key */
  tls: { ca: string; cert: string; key: string };
  logger: Logger;
  /** lifetime of issued link certificates when the grant does not say; default 30 days */
  defaultLifetimeMs?: number;
  /** called after the issued or revoked records changed */
  onChange?: () => void;
  /** the guard in front of the port (handshake deadline, caps, accept errors); default: one with default limits */
  guard?: AcceptGuard;
  /**
   * Where the site's AccessGrants come from; default: the resources/ folder of `dir`. `createdAt` (ms) is when
   * the grant was made, from which its expiry counts unless its status says otherwise.
   */
  findGrant?: (name: string) => Promise<{ grant: AccessGrantResource; createdAt?: number } | undefined>;
  /** wall time for expiry and records, and the timer of the refusal summaries; default the system clock */
  clock?: Clock;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY = 64 * 1024;
/** Issued-certificate records are kept this long after the certificate expired. */
const KEEP_EXPIRED_MS = 24 * 3600 * 1000;

/** A promise chain: one state change at a time. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => undefined);
    return p;
  }
}

export class GrantServer {
  private server: https.Server | undefined;
  private readonly log: Logger;
  readonly lock = new Mutex();
  readonly guard: AcceptGuard;
  private readonly ownGuard: boolean;
  private readonly clock: Clock;
  /**
   * Refused redemptions, renewals and proofs: anyone who can reach the port can cause them at will, so a few are
   * logged in full per interval and the rest summed up by reason.
   */
  private readonly refusals: RateLimitedLog;

  constructor(private readonly opts: GrantServerOptions) {
    this.log = opts.logger.child({ subsystem: 'grants' });
    this.clock = opts.clock ?? systemClock;
    this.refusals = new RateLimitedLog({
      logger: this.log,
      clock: this.clock,
      message: 'grant request refused',
    });
    this.ownGuard = opts.guard === undefined;
    this.guard =
      opts.guard ??
      new AcceptGuard({ server: 'grant', logger: this.log, refusedMessage: 'grant connection refused' });
  }

  get port(): number | undefined {
    return boundPort(this.server);
  }

  private readTls(): Promise<[Buffer, Buffer, Buffer]> {
    return Promise.all([
      readFile(this.opts.tls.ca),
      readFile(this.opts.tls.cert),
      readFile(this.opts.tls.key),
    ]);
  }

  /** Re-reads the TLS files (a renewed server certificate) for the handshakes from now on. */
  async reloadTls(): Promise<void> {
    const [ca, cert, key] = await this.readTls();
    this.server?.setSecureContext({ ca, cert, key, minVersion: 'TLSv1.3' });
  }

  async start(): Promise<void> {
    const [ca, cert, key] = await this.readTls();
    const server = https.createServer(
      { ca, cert, key, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' },
      (req, res) => void this.handle(req, res),
    );
    server.headersTimeout = 15_000;
    server.requestTimeout = 30_000;
    this.guard.attach(server, 'tls');
    this.server = server;
    await bindServer(server, this.opts, (err) => {
      this.server = undefined;
      return portError(`grant port ${this.opts.host}:${this.opts.port}`, err);
    });
    await writeJson(sitePaths(this.opts.dir).grantServer, {
      host: this.opts.host,
      port: this.port,
      pid: process.pid,
    }).catch((e: unknown) => this.log.warn('cannot record the grant port', { error: errorMessage(e) }));
    this.log.info('grant server listening', { address: `${this.opts.host}:${this.port}` });
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await closeServer(s, () => {
      s.closeAllConnections();
      this.guard.serverStopped(this.ownGuard);
    });
    this.refusals.close();
  }

  /** One refused request, through the rate-limited log (`what`: redemption, renewal or proof). */
  private refused(what: string, fields: LogFields): void {
    this.refusals.event(what, fields);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const send = (status: number, body: unknown): void => {
      const data = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(data),
      });
      res.end(data);
    };
    try {
      const path = (req.url ?? '/').split('?')[0] as string;
      if (req.method !== 'POST') throw new HttpError(405, ErrorCodes.BAD_REQUEST, `use POST for ${path}`);
      const body = await readBody(req);
      if (path === '/v1/renew') return send(200, await this.renew(req, body, peer));
      const name = grantNameFromPath(path);
      if (name === undefined) throw new HttpError(404, ErrorCodes.NOT_FOUND, `no route POST ${path}`);
      send(200, await this.redeem(name, body, req, peer));
    } catch (e) {
      const he =
        e instanceof HttpError
          ? e
          : e instanceof CaravanError && e.code === ErrorCodes.CERT
            ? new HttpError(400, e.code, e.message)
            : undefined;
      if (he) {
        send(he.status, { error: { code: he.code, message: he.message } });
      } else {
        send(500, {
          error: publicError(
            e,
            this.log,
            { peer, url: req.url },
            { where: 'at the issuing site', exposeCaravanErrors: false },
          ),
        });
      }
    }
  }

  private async ca(): Promise<{ certPem: string; keyPem: string }> {
    const p = sitePaths(this.opts.dir);
    try {
      return { certPem: await readFile(this.opts.tls.ca, 'utf8'), keyPem: await readFile(p.caKey, 'utf8') };
    } catch (e) {
      throw new HttpError(503, ErrorCodes.CERT, `site cannot issue certificates: ${errorMessage(e)}`);
    }
  }

  private endpoints(req: IncomingMessage): { host: string; port: number }[] {
    const port = this.opts.linkPort();
    if (!port)
      throw new HttpError(503, ErrorCodes.NO_LINK_ACCESS, 'the site is not accepting links right now');
    const hosts: string[] = [];
    const hostHeader = req.headers.host;
    if (hostHeader) {
      const h = /^\[([^\]]+)\]/.exec(hostHeader)?.[1] ?? hostHeader.replace(/:\d+$/, '');
      if (h) hosts.push(h);
    }
    for (const h of tokenHosts(this.opts.linkAccess, networkInterfaces()))
      if (!hosts.includes(h)) hosts.push(h);
    return hosts.map((host) => ({ host, port }));
  }

  private lifetimeOf(grant: AccessGrantResource): number {
    const l = grant.spec.certLifetime !== undefined ? tryParseDuration(grant.spec.certLifetime) : undefined;
    return l ?? this.opts.defaultLifetimeMs ?? DEFAULT_LINK_CERT_LIFETIME_MS;
  }

  private async redeem(name: string, body: unknown, req: IncomingMessage, peer: string): Promise<unknown> {
    const b = body as {
      code?: unknown;
      csr?: unknown;
      site?: unknown;
      link?: unknown;
      router?: unknown;
    } | null;
    if (!b || typeof b.code !== 'string' || typeof b.csr !== 'string' || b.router === undefined) {
      throw new HttpError(400, ErrorCodes.BAD_REQUEST, 'a redemption needs {code, csr, site, router}');
    }
    if (!isName(b.site)) {
      throw new HttpError(
        400,
        ErrorCodes.BAD_REQUEST,
        'site must be a site name (lowercase letters, digits and -, at most 63 characters)',
      );
    }
    if (b.link !== undefined && !isName(b.link)) {
      throw new HttpError(400, ErrorCodes.BAD_REQUEST, 'link must be a resource name');
    }
    const code = b.code;
    const csr = b.csr;
    const site = b.site;
    const proof = b.router;
    const link = b.link as string | undefined;
    return this.lock.run(async () => {
      const { grant, createdAt } = await this.findGrant(name);
      const state = grant ? await this.redemptionState(grant, createdAt) : undefined;
      const decision = decideRedemption(
        name,
        {
          exists: grant !== undefined,
          codeOk: grant ? codeMatches(code, grant.spec) : false,
          expiresAt: state ? Date.parse(state.expiresAt) : 0,
          redemptions: grant?.spec.redemptions ?? 0,
          redeemed: state?.redeemed ?? 0,
        },
        this.clock.now(),
      );
      if (!decision.ok || !grant || !state) {
        this.refused('redemption', {
          grant: name,
          peer,
          code: decision.code,
          reason: decision.message,
        });
        throw new HttpError(
          decision.status,
          decision.code ?? ErrorCodes.GRANT_UNKNOWN,
          decision.message ?? 'refused',
        );
      }
      const routerId = await this.proveRouter(proof, site, csr, peer, `grant ${name}`);
      const ca = await this.ca();
      const lifetimeMs = this.lifetimeOf(grant);
      const certificate = await (
        await loadCerts()
      ).signCsr(ca, csr, {
        usage: 'client',
        validityMs: lifetimeMs,
        subject: { commonName: routerId, organization: site },
      });
      const info = (await loadCerts()).certificateInfo(certificate);
      state.redeemed += 1;
      await writeJson(sitePaths(this.opts.dir).redemption(name), state);
      const record: IssuedCert = {
        serial: normalizeSerial(info.serialNumber),
        id: randomUUID(),
        site,
        routerId,
        ...(link ? { link } : {}),
        grant: name,
        issuedAt: new Date(this.clock.now()).toISOString(),
        notAfter: info.notAfter.toISOString(),
        lifetimeMs,
      };
      await this.addIssued(record);
      this.log.info('access grant redeemed', {
        grant: name,
        site,
        routerId,
        peer,
        serial: record.serial,
        redeemed: state.redeemed,
        redemptions: grant.spec.redemptions,
        certLifetimeMs: lifetimeMs,
      });
      return {
        certificate,
        ca: ca.certPem,
        endpoints: this.endpoints(req),
        linkName: this.opts.siteName,
        site: this.opts.siteName,
        routerId: this.opts.routerId,
        cost: grant.spec.cost,
        lifetimeMs,
      };
    });
  }

  private async renew(req: IncomingMessage, body: unknown, peer: string): Promise<unknown> {
    const socket = req.socket as TLSSocket;
    const b = body as { csr?: unknown; router?: unknown } | null;
    if (!b || typeof b.csr !== 'string' || b.router === undefined)
      throw new HttpError(400, ErrorCodes.BAD_REQUEST, 'a renewal needs {csr, router}');
    const csr = b.csr;
    const proof = b.router;
    const peerCert = socket.getPeerCertificate?.();
    if (!socket.authorized || !peerCert?.serialNumber) {
      const why = socket.authorizationError ? `: ${String(socket.authorizationError)}` : '';
      this.refused('renewal', { peer, reason: `no valid link certificate${why}` });
      throw new HttpError(
        401,
        ErrorCodes.CERT,
        `renewal needs a valid link certificate issued by this site${why}`,
      );
    }
    const serial = normalizeSerial(peerCert.serialNumber);
    return this.lock.run(async () => {
      const revocations = await RevocationSet.load(this.opts.dir);
      const refusal = revocations.refusal(serial);
      if (refusal) {
        this.refused('renewal', { peer, serial, reason: refusal });
        throw new HttpError(403, ErrorCodes.LINK_REVOKED, `the link was revoked: ${refusal}`);
      }
      const record = revocations.record(serial);
      if (!record) {
        this.refused('renewal', {
          peer,
          serial,
          reason: 'certificate not issued by a grant',
        });
        throw new HttpError(
          403,
          ErrorCodes.CERT,
          `certificate ${serial} was not issued through an access grant of this site`,
        );
      }
      const routerId = await this.proveRouter(proof, record.site, csr, peer, `renewal of ${serial}`);
      if (record.routerId !== undefined && routerId !== record.routerId) {
        this.refused('renewal', {
          peer,
          serial,
          reason: `router ${routerId} renews a certificate of router ${record.routerId}`,
        });
        throw new HttpError(
          403,
          ErrorCodes.PEER_IDENTITY,
          `the certificate belongs to router ${record.routerId}, not ${routerId}`,
        );
      }
      const ca = await this.ca();
      const certificate = await (
        await loadCerts()
      ).signCsr(ca, csr, {
        usage: 'client',
        validityMs: record.lifetimeMs,
        subject: { commonName: routerId, organization: record.site },
      });
      const info = (await loadCerts()).certificateInfo(certificate);
      const next: IssuedCert = {
        ...record,
        routerId,
        serial: normalizeSerial(info.serialNumber),
        issuedAt: new Date(this.clock.now()).toISOString(),
        notAfter: info.notAfter.toISOString(),
      };
      await this.addIssued(next);
      this.log.info('link certificate renewed', {
        site: record.site,
        id: record.id,
        peer,
        serial: next.serial,
        previous: serial,
        notAfter: next.notAfter,
      });
      return { certificate, ca: ca.certPem, lifetimeMs: record.lifetimeMs };
    });
  }

  /**
   * The router id the request proves for the CSR's key (see src/identity.ts provenRouterId); a refusal is a 403
   * with code CARAVAN_PEER_IDENTITY, logged with the reason.
   */
  private async proveRouter(
    proof: unknown,
    site: string,
    csr: string,
    peer: string,
    what: string,
  ): Promise<string> {
    const key = await (await loadCerts()).csrPublicKey(csr);
    const r = provenRouterId(proof, site, key);
    if ('refused' in r) {
      this.refused('proof', { peer, request: what, site, reason: r.refused });
      throw new HttpError(403, ErrorCodes.PEER_IDENTITY, r.refused);
    }
    return r.routerId;
  }

  private async addIssued(record: IssuedCert): Promise<void> {
    const now = this.clock.now();
    const certs = (await readIssued(this.opts.dir)).filter(
      (c) => Date.parse(c.notAfter) + KEEP_EXPIRED_MS > now,
    );
    certs.push(record);
    await writeJson(sitePaths(this.opts.dir).issued, { certs });
    this.opts.onChange?.();
  }

  private async findGrant(name: string): Promise<{ grant?: AccessGrantResource; createdAt?: number }> {
    if (this.opts.findGrant) {
      const found = await this.opts.findGrant(name).catch((e: unknown) => {
        throw new HttpError(
          503,
          ErrorCodes.CONFIG_IO,
          `the site's grants cannot be read: ${errorMessage(e)}`,
        );
      });
      return found ?? {};
    }
    const all = await readSiteResources(this.opts.dir).catch((e: unknown) => {
      throw new HttpError(
        503,
        ErrorCodes.CONFIG_IO,
        `the site's resources cannot be read: ${errorMessage(e)}`,
      );
    });
    const s = all.find((x) => x.resource.kind === 'AccessGrant' && x.resource.metadata.name === name);
    if (!s) return {};
    // expiry counts from when the grant file was written
    const createdAt = await stat(join(this.opts.dir, s.source)).then(
      (st) => st.mtimeMs,
      () => undefined,
    );
    return { grant: s.resource as AccessGrantResource, ...(createdAt !== undefined ? { createdAt } : {}) };
  }

  /**
   * The grant's redemption state; made afresh when missing or when the grant was re-issued with a new code
   * (expiry then counts from status.expiresAt, else from when the grant file was written).
   */
  private async redemptionState(
    grant: AccessGrantResource,
    createdAt: number | undefined,
  ): Promise<RedemptionState> {
    const name = grant.metadata.name;
    const codeHash = grant.spec.codeHash ?? (grant.spec.code ? hashCode(grant.spec.code) : '');
    const cur = await readJson<RedemptionState>(sitePaths(this.opts.dir).redemption(name)).catch(
      () => undefined,
    );
    if (cur && cur.codeHash === codeHash && typeof cur.redeemed === 'number') return cur;
    const created = createdAt ?? this.clock.now();
    const expiryMs = tryParseDuration(grant.spec.expiry) ?? 0;
    const statusExpiry = grant.status?.expiresAt ? Date.parse(grant.status.expiresAt) : NaN;
    const expiresAt = Number.isFinite(statusExpiry) ? statusExpiry : created + expiryMs;
    return {
      codeHash,
      createdAt: new Date(created).toISOString(),
      expiresAt: new Date(expiresAt).toISOString(),
      redeemed: 0,
    };
  }
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, ErrorCodes.BAD_REQUEST, `request body larger than ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, ErrorCodes.BAD_REQUEST, 'the request body is not JSON'));
      }
    });
  });
}
