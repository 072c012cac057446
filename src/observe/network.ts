/**
 * Network-wide observability over the network itself: every router answers management requests (JSON, one per
 * `$management` flow) about itself — flow records, traffic samples, a report for the network model — and the
 * router that is asked for the whole network asks every reachable router in parallel (bounded concurrency,
 * per-router timeout). A router that does not answer is reported, never fatal.
 *
 * The transport (`request`) and the local state are handed in; this file knows no router internals.
 */
import { CaravanError, ErrorCodes, errorMessage } from '../errors.js';
import { mergeFlowRecords, mergeSamples, type FlowQuery, type FlowRecorder } from './flows.js';
import type { FlowRecord, NetworkModel, TrafficSample } from './model.js';
import { buildNetworkModel, type ModelInput, type RouterReport } from './network-model.js';

export type ManagementRequest =
  | { op: 'report' }
  | { op: 'flows'; service?: string; site?: string; limit?: number }
  | { op: 'samples'; since?: number };

export interface Unanswered {
  router: string;
  error: string;
}

export interface NetworkFlows {
  flows: FlowRecord[];
  unanswered: Unanswered[];
}

export interface NetworkTraffic {
  samples: TrafficSample[];
  unanswered: Unanswered[];
}

export interface NetworkObserverOptions {
  selfId: string;
  records: FlowRecorder;
  /** this router's own report (names, link RTTs; traffic is filled in here) */
  localReport: () => Omit<RouterReport, 'routerId' | 'traffic'>;
  /** everything but the reports: topology, own links, self description */
  modelInput: () => Omit<ModelInput, 'reports' | 'now' | 'unanswered'>;
  /** routers to ask (reachable ones, self included) */
  routers: () => string[];
  /** send one management request to a router (over the network; self answered locally) */
  request: (routerId: string, payload: Buffer, timeoutMs: number) => Promise<Buffer>;
  timeoutMs?: number;
  concurrency?: number;
  now?: () => number;
}

const MAX_FLOWS = 10_000;

export class NetworkObserver {
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private readonly now: () => number;

  constructor(private readonly opts: NetworkObserverOptions) {
    this.timeoutMs = opts.timeoutMs ?? 3000;
    this.concurrency = Math.max(1, opts.concurrency ?? 16);
    this.now = opts.now ?? Date.now;
  }

  /** The management handler: answer a request about this router. */
  async handle(payload: Buffer): Promise<Buffer> {
    let req: ManagementRequest;
    try {
      req = JSON.parse(payload.toString('utf8')) as ManagementRequest;
    } catch {
      throw new CaravanError(ErrorCodes.PROTOCOL, 'management request is not JSON');
    }
    return Buffer.from(JSON.stringify(this.answer(req)), 'utf8');
  }

  answer(req: ManagementRequest): unknown {
    switch (req?.op) {
      case 'report':
        return this.report();
      case 'flows':
        return this.opts.records.query(flowQuery(req));
      case 'samples':
        return this.opts.records.samplesSince(typeof req.since === 'number' ? req.since : 0);
      default:
        throw new CaravanError(
          ErrorCodes.PROTOCOL,
          `unknown management op ${JSON.stringify((req as { op?: unknown })?.op)}`,
        );
    }
  }

  report(): RouterReport {
    return {
      ...this.opts.localReport(),
      routerId: this.opts.selfId,
      traffic: this.opts.records.localTraffic(),
    };
  }

  /** Ask every router; answers by router id and the routers that did not answer. */
  async askAll<T>(req: ManagementRequest): Promise<{ answers: Map<string, T>; unanswered: Unanswered[] }> {
    const routers = [...new Set(this.opts.routers())];
    const answers = new Map<string, T>();
    const unanswered: Unanswered[] = [];
    const payload = Buffer.from(JSON.stringify(req), 'utf8');
    let i = 0;
    const worker = async (): Promise<void> => {
      while (i < routers.length) {
        const id = routers[i++]!;
        try {
          const value =
            id === this.opts.selfId
              ? (this.answer(req) as T)
              : (JSON.parse((await this.opts.request(id, payload, this.timeoutMs)).toString('utf8')) as T);
          answers.set(id, value);
        } catch (e) {
          unanswered.push({ router: id, error: errorMessage(e) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, routers.length) }, worker));
    unanswered.sort((a, b) => (a.router < b.router ? -1 : 1));
    return { answers, unanswered };
  }

  async network(): Promise<NetworkModel> {
    const { answers, unanswered } = await this.askAll<RouterReport>({ op: 'report' });
    const reports = new Map<string, RouterReport>();
    for (const [id, r] of answers) if (r && typeof r === 'object') reports.set(id, { ...r, routerId: id });
    return buildNetworkModel({ ...this.opts.modelInput(), reports, now: new Date(this.now()), unanswered });
  }

  async flows(q: FlowQuery = {}): Promise<NetworkFlows> {
    const query = flowQuery(q);
    const { answers, unanswered } = await this.askAll<FlowRecord[]>({ op: 'flows', ...query });
    const lists = [...answers.values()].filter((v) => Array.isArray(v));
    return { flows: mergeFlowRecords(lists, query.limit ?? 100), unanswered };
  }

  async traffic(since = this.now() - 10 * 60_000): Promise<NetworkTraffic> {
    const { answers, unanswered } = await this.askAll<TrafficSample[]>({ op: 'samples', since });
    return { samples: mergeSamples([...answers.values()].filter((v) => Array.isArray(v))), unanswered };
  }
}

function flowQuery(req: { service?: unknown; site?: unknown; limit?: unknown }): FlowQuery {
  const q: FlowQuery = {};
  if (typeof req.service === 'string' && req.service !== '') q.service = req.service;
  if (typeof req.site === 'string' && req.site !== '') q.site = req.site;
  const limit = typeof req.limit === 'number' && Number.isFinite(req.limit) ? Math.floor(req.limit) : 100;
  q.limit = Math.max(1, Math.min(limit, MAX_FLOWS));
  return q;
}
