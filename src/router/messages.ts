import { CaravanError, ErrorCodes } from '../errors.js';
import { isName, isNetworkKey, isRouterIdName } from '../names.js';
import { FLOW_PROTOCOLS, type FlowAccept, type FlowHeader, type FlowProtocol } from './contract.js';

/**
 * Router-level control messages carried in link CONTROL frames, JSON-encoded:
 * - `hi`: sent once by each end when a link session starts (router id, mode, site, link cost, and its HELLO
 *   timers so mismatched configurations are reported);
 * - `rt`: a routing-protocol message for the link-state engine;
 * - `cost`: the dialing end changed the link's cost (its Link resource) while the link is up; the accepting end
 *   takes it over, so both ends advertise the same cost without the link going down.
 */
export interface HiMessage {
  k: 'hi';
  id: string;
  mode: 'interior' | 'edge';
  site: string;
  cost: number;
  /** the sender's HELLO interval and dead interval (ms); absent from older routers */
  hello?: number;
  dead?: number;
}

export type ControlMessage = HiMessage | { k: 'rt'; m: unknown } | { k: 'cost'; cost: number };

/** Largest link cost (Link resource validation uses the same bound). */
const MAX_COST = 2 ** 31 - 1;

export function encodeControl(m: ControlMessage): Buffer {
  return Buffer.from(JSON.stringify(m), 'utf8');
}

function bad(what: string): never {
  throw new CaravanError(ErrorCodes.PROTOCOL, what);
}

export function decodeControl(buf: Buffer): ControlMessage {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    bad('control message is not JSON');
  }
  if (typeof v !== 'object' || v === null) bad('control message is not an object');
  const o = v as Record<string, unknown>;
  if (o.k === 'hi') {
    if (!isRouterIdName(o.id)) bad('hi: id is not a router id');
    if (o.mode !== 'interior' && o.mode !== 'edge') bad('hi: mode must be interior or edge');
    if (!isName(o.site)) bad('hi: site is not a site name');
    if (typeof o.cost !== 'number' || !Number.isInteger(o.cost) || o.cost < 1)
      bad('hi: cost must be an integer >= 1');
    const hi: HiMessage = { k: 'hi', id: o.id, mode: o.mode, site: o.site, cost: o.cost };
    for (const f of ['hello', 'dead'] as const) {
      const t = o[f];
      if (t === undefined) continue;
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 1) bad(`hi: ${f} must be a positive integer`);
      hi[f] = t;
    }
    return hi;
  }
  if (o.k === 'rt') return { k: 'rt', m: o.m };
  if (o.k === 'cost') {
    if (typeof o.cost !== 'number' || !Number.isInteger(o.cost) || o.cost < 1 || o.cost > MAX_COST)
      bad('cost: cost must be an integer 1 .. 2^31-1');
    return { k: 'cost', cost: o.cost };
  }
  bad(`unknown control message kind ${JSON.stringify(o.k)}`);
}

export function encodeFlowHeader(h: FlowHeader): Buffer {
  return Buffer.from(JSON.stringify(h), 'utf8');
}

export function decodeFlowHeader(buf: Buffer): FlowHeader {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    bad('flow header is not JSON');
  }
  if (typeof v !== 'object' || v === null) bad('flow header is not an object');
  const o = v as Record<string, unknown>;
  if (o.v !== 1) bad(`unsupported flow header version ${JSON.stringify(o.v)}`);
  for (const f of ['fid', 'key', 'dst', 'src', 'lis', 'client'] as const) {
    if (typeof o[f] !== 'string') bad(`flow header: ${f} must be a string`);
  }
  if (!isNetworkKey(o.key)) bad('flow header: key is not a routing key');
  if (!isRouterIdName(o.dst)) bad('flow header: dst is not a router id');
  if (!isRouterIdName(o.src)) bad('flow header: src is not a router id');
  if (!isPrintable(o.fid as string, 128)) bad('flow header: fid must be printable, at most 128 characters');
  if (!isPrintable(o.lis as string, 253)) bad('flow header: lis must be printable, at most 253 characters');
  if (!isPrintable(o.client as string, 300))
    bad('flow header: client must be printable, at most 300 characters');
  if (!FLOW_PROTOCOLS.includes(o.proto as FlowProtocol))
    bad(`flow header: unsupported protocol ${JSON.stringify(o.proto)}`);
  if (typeof o.hops !== 'number' || !Number.isInteger(o.hops) || o.hops < 0) bad('flow header: bad hops');
  // An affinity key that is not a string (an object whose toString is not a function) would throw where the
  // router builds its affinity map key, out of the link's data handler.
  if (o.aff !== undefined && typeof o.aff !== 'string') bad('flow header: aff must be a string');
  if (o.aff !== undefined && !isPrintable(o.aff as string, 1024))
    bad('flow header: aff must be printable, at most 1024 characters');
  return o as unknown as FlowHeader;
}

const PRINTABLE = /^[\x20-\x7e]*$/;

/** Printable ASCII of at most `max` characters (what identifiers and addresses in flow headers may hold). */
function isPrintable(v: string, max: number): boolean {
  return v.length <= max && PRINTABLE.test(v);
}

/**
 * The ACCEPT payload an egress router sends (which router, connector and target took the flow). It is only
 * recorded and displayed, so anything unexpected is replaced rather than refused: the flow itself is fine.
 */
export function decodeFlowAccept(payload: Buffer, fallbackRouter: string): FlowAccept {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    v = undefined;
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const field = (x: unknown, max: number): string =>
    typeof x === 'string' && isPrintable(x, max) && x.length > 0 ? x : '?';
  return {
    router: isRouterIdName(o.router) ? o.router : fallbackRouter,
    connector: field(o.connector, 253),
    target: field(o.target, 300),
  };
}
