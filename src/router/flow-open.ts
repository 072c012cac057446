/**
 * Opening a flow for a listener, with retry: choose a destination, send OPEN along the path, wait for the egress
 * router's ACCEPT; when the path breaks or the target refuses before that, try another destination (or the same
 * one over a new path once routing changed) until the flow-setup deadline (docs/design/architecture.md, "The life
 * of one flow"; the codes that are retried are in codes.ts).
 */
import type { Clock } from '../clock.js';
import { CaravanError, ErrorCodes, errorMessage, isCaravanError, type ErrorCode } from '../errors.js';
import type { FlowHandle, FlowRecorder } from '../observe/flows.js';
import type { Logger } from '../observe/log.js';
import type { AffinityTable } from './affinity.js';
import { errorCodeOf, isRetryable, isTargetFailure, isUnprocessed, wireCode } from './codes.js';
import type {
  ConnectorHandler,
  EarlyData,
  FlowAccept,
  FlowHeader,
  FlowStream,
  LinkSession,
  OpenFlowRequest,
  OpenedFlow,
} from './contract.js';
import { chooseDestination } from './distribution.js';
import type { FlowLoad } from './flow-load.js';
import type { FlowStats } from './flow-stats.js';
import { createLocalPair } from './local-pair.js';
import { decodeFlowAccept, encodeFlowHeader } from './messages.js';

/** Why a destination is not tried again for one flow: its target failed, or the path over one link did. */
export type Exclusion = 'target' | { version: number; linkId: string | undefined };
export const NO_EXCLUSIONS: ReadonlyMap<string, Exclusion> = new Map();

/** A router that could take a flow: its path cost, the flows in flight to it, and for this router the connector. */
export interface Candidate {
  router: string;
  cost: number;
  inFlight: number;
  connector?: ConnectorHandler;
}

/** What opening flows needs of the router core. */
export interface FlowOpenHost {
  readonly id: string;
  readonly log: Logger;
  readonly clock: Clock;
  readonly flows: FlowStats;
  readonly records: FlowRecorder;
  readonly affinity: AffinityTable;
  readonly load: FlowLoad;
  readonly setupTimeoutMs: number;
  /** the router's time (ms, wall-clock based, never goes back) */
  now(): number;
  readonly stopped: boolean;
  /** the routing engine's version: it changes with every routing change */
  readonly routingVersion: number;
  candidates(
    key: string,
    excluded: ReadonlyMap<string, Exclusion>,
    preferLocal?: string,
    rotation?: number,
  ): Candidate[];
  linkToward(dest: string): { id: string; session: LinkSession } | undefined;
  /** resolves true at the next routing change, false after `ms` without one */
  waitForRoutingChange(ms: number): Promise<boolean>;
}

export class FlowOpener {
  private flowCounter = 0;
  /** round-robin counter for tie-breaking when a listener asks for it (OpenFlowRequest.rotateTies) */
  private rotation = 0;

  constructor(private readonly host: FlowOpenHost) {}

  /**
   * Open a flow for a listener: choose a destination, send OPEN along the path and wait for the egress router's
   * ACCEPT (its connector reached the target). If the path breaks or the target refuses before that, try another
   * destination (or the same one over a new path once routing changed), until the setup deadline.
   */
  async open(req: OpenFlowRequest, established: (flow: OpenedFlow) => void): Promise<void> {
    const host = this.host;
    const start = host.now();
    const deadline = start + host.setupTimeoutMs;
    const excluded = new Map<string, Exclusion>();
    const fid = `${host.id}/${++this.flowCounter}`;
    let lastErr: CaravanError | undefined;
    let pathFailures = 0;
    const affKey = req.affinityKey !== undefined ? `${req.routingKey}\0${req.affinityKey}` : undefined;
    host.flows.opening(req.routingKey);
    const record = host.records.start({
      id: fid,
      routingKey: req.routingKey,
      protocol: req.proto,
      sourceSite: host.id,
      listener: req.listener,
      clientAddress: req.client,
    });
    const tracked = (flow: OpenedFlow): void => {
      trackFlow(record, flow);
      established(flow);
    };
    for (;;) {
      if (host.stopped) {
        lastErr = new CaravanError(ErrorCodes.LINK_CLOSED, 'router is stopping');
        break;
      }
      // Affinity: the destination that served this key before, while it is still a candidate; else distribution.
      const sticky = affKey !== undefined ? host.affinity.get(affKey) : undefined;
      const rotation = req.rotateTies ? this.rotation++ : undefined;
      let cands = host.candidates(req.routingKey, excluded, sticky?.connector, rotation);
      if (req.only !== undefined) cands = cands.filter((c) => c.router === req.only);
      const cand =
        (sticky && cands.find((c) => c.router === sticky.router)) ??
        chooseDestination(cands, req.distribution, rotation);
      if (!cand) {
        // Nothing (left) to try. After a path failure the network is reconverging: wait for the next routing
        // change, bounded by the deadline. With no failure at all, fail fast: nobody serves this key.
        const remaining = deadline - host.now();
        if (pathFailures > 0 && remaining > 0 && (await host.waitForRoutingChange(remaining))) continue;
        break;
      }
      const header: FlowHeader = {
        v: 1,
        fid,
        key: req.routingKey,
        dst: cand.router,
        src: host.id,
        lis: req.listener,
        client: req.client,
        proto: req.proto,
        hops: 0,
        ...(req.affinityKey !== undefined ? { aff: req.affinityKey } : {}),
      };
      const attemptVersion = host.routingVersion;
      const attemptLink = cand.connector ? undefined : host.linkToward(cand.router)?.id;
      const sent = { early: false };
      try {
        await this.attempt(header, cand, deadline, tracked, req.early, sent);
        if (affKey !== undefined) {
          host.affinity.set(affKey, {
            router: cand.router,
            ...(cand.connector ? { connector: cand.connector.name } : {}),
          });
        }
        host.flows.established(req.routingKey, host.now() - start);
        return;
      } catch (e) {
        const err = isCaravanError(e) ? e : new CaravanError(ErrorCodes.FLOW_RESET, errorMessage(e));
        lastErr = err;
        host.log.info('flow attempt failed', {
          flow: fid,
          key: req.routingKey,
          dst: cand.router,
          code: err.code,
          reason: err.message,
        });
        if (!isRetryable(err.code)) break;
        // A refused target, a transit's NO_ROUTE or a refused stream forwarded nothing: the early bytes can be replayed.
        if (sent.early && !isUnprocessed(err.code)) {
          // The path broke after early data went out: the far connector may have delivered it. Replaying it to
          // another target could duplicate a request, so the flow fails instead (docs/adr/0004-early-data.md).
          lastErr = new CaravanError(
            err.code,
            `${err.message}; not retried: early data was sent and may have reached the target`,
          );
          break;
        }
        if (isTargetFailure(err.code)) excluded.set(cand.router, 'target');
        else {
          pathFailures++;
          excluded.set(cand.router, { version: attemptVersion, linkId: attemptLink });
        }
        if (host.now() >= deadline) break;
      }
    }
    const err =
      lastErr ??
      new CaravanError(ErrorCodes.NO_CONNECTOR, `no reachable connector for routing key '${req.routingKey}'`);
    host.flows.failed(req.routingKey, err.code);
    record.finish(err.code);
    throw err;
  }

  /**
   * One try at one destination. `established` runs synchronously inside the ACCEPT event, so the adapter attaches
   * its handlers before any data that followed the ACCEPT in the same read is emitted.
   */
  private attempt(
    header: FlowHeader,
    cand: Candidate,
    deadline: number,
    established: (flow: OpenedFlow) => void,
    early: EarlyData | undefined,
    sent: { early: boolean },
  ): Promise<void> {
    const host = this.host;
    let stream: FlowStream;
    // Early data goes over link streams only; a local pair delivers nothing before the connector listens, so the
    // adapter writes it after ACCEPT there.
    let earlyOn = false;
    if (cand.connector) {
      const [near, far] = createLocalPair();
      stream = near;
      host.load.trackConnector(cand.connector.name, far);
      cand.connector.deliver(far, header);
    } else {
      const link = host.linkToward(cand.router);
      if (!link) {
        return Promise.reject(new CaravanError(ErrorCodes.NO_ROUTE, `no route to router ${cand.router}`));
      }
      try {
        stream = link.session.openStream(encodeFlowHeader(header));
      } catch (e) {
        return Promise.reject(new CaravanError(ErrorCodes.PATH_LOST, errorMessage(e)));
      }
      host.load.trackDestination(cand.router, header.key, stream);
      if (early) {
        earlyOn = true;
        const s = stream;
        for (const c of early.chunks) s.write(c);
        if (early.chunks.length > 0) sent.early = true;
        early.onChunk = (c) => {
          sent.early = true;
          s.write(c);
        };
      }
    }
    return new Promise<void>((resolve, reject) => {
      const timer = host.clock.setTimeout(
        () => {
          cleanup();
          stream.reset(wireCode(ErrorCodes.PATH_LOST), 'flow setup timed out');
          reject(new CaravanError(ErrorCodes.PATH_LOST, `flow setup to router ${cand.router} timed out`));
        },
        Math.max(1, deadline - host.now()),
      );
      const onAccept = (payload: Buffer): void => {
        cleanup();
        const accept: FlowAccept = decodeFlowAccept(payload, cand.router);
        established({ stream, header, accept, earlySent: earlyOn });
        resolve();
      };
      const onReset = (code: number, reason: string): void => {
        cleanup();
        reject(new CaravanError(errorCodeOf(code), reason || 'flow reset before it was established'));
      };
      const cleanup = (): void => {
        timer.cancel();
        if (earlyOn && early) early.onChunk = undefined;
        stream.removeListener('accept', onAccept);
        stream.removeListener('reset', onReset);
      };
      stream.once('accept', onAccept);
      stream.once('reset', onReset);
    });
  }
}

/**
 * Follow an established flow to its end for its record: the destination from the ACCEPT, the outcome (a reset
 * either way gives its error code; a clean close is `ok`) and the bytes each way from the stream's counters.
 * A local `reset()` emits no event, so the stream's `reset` is wrapped to see its code.
 */
function trackFlow(record: FlowHandle, flow: OpenedFlow): void {
  const { stream, accept } = flow;
  let outcome: 'ok' | ErrorCode = 'ok';
  const bytes = (): { bytesOut: number; bytesIn: number } => ({
    bytesOut: stream.bytesOut,
    bytesIn: stream.bytesIn,
  });
  record.established(
    { destSite: accept.router, connector: accept.connector, targetAddress: accept.target },
    bytes,
  );
  const reset = stream.reset.bind(stream);
  stream.reset = (code: number, reason?: string): void => {
    if (outcome === 'ok') outcome = errorCodeOf(code);
    reset(code, reason);
  };
  stream.once('reset', (code) => {
    if (outcome === 'ok') outcome = errorCodeOf(code);
  });
  stream.once('close', () => record.finish(outcome, bytes()));
}
