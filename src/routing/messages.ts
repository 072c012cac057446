// Validation and normalisation of routing messages. Peer input is untrusted: these functions never throw on it,
// they return undefined for anything malformed. Valid messages are copied into fresh, normalised objects
// (links sorted by neighbor, address keys sorted, zero counts dropped) so no reference to peer input is kept.

import {
  MAX_LINK_COST,
  MAX_ROUTER_ID_LENGTH,
  MAX_ROUTING_KEY_LENGTH,
  type AdvertisedLink,
  type Hello,
  type RouterAdvertisement,
  type RouterMode,
  type RoutingMessage,
} from './types.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isRouterId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ROUTER_ID_LENGTH;
}

export function isMode(v: unknown): v is RouterMode {
  return v === 'interior' || v === 'edge';
}

export function isValidCost(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= MAX_LINK_COST;
}

export function isRoutingKey(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ROUTING_KEY_LENGTH;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Normalise an address map: keys sorted, zero counts dropped. Returns undefined if any key or count is invalid
 * (counts must be non-negative safe integers).
 */
export function normalizeAddresses(raw: unknown): Record<string, number> | undefined {
  if (!isRecord(raw)) return undefined;
  const entries: Array<[string, number]> = [];
  for (const key of Object.keys(raw)) {
    const count = raw[key];
    if (!isRoutingKey(key)) return undefined;
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) return undefined;
    if (count > 0) entries.push([key, count]);
  }
  entries.sort((x, y) => cmpStr(x[0], y[0]));
  // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
  return Object.fromEntries(entries);
}

function parseHello(m: Record<string, unknown>): Hello | undefined {
  if (!isRouterId(m.id) || !isMode(m.mode) || !Array.isArray(m.seen)) return undefined;
  const seen: string[] = [];
  for (const s of m.seen as unknown[]) {
    if (!isRouterId(s)) return undefined;
    seen.push(s);
  }
  return { t: 'hello', id: m.id, mode: m.mode, seen };
}

function parseAd(m: Record<string, unknown>): RouterAdvertisement | undefined {
  const { id, mode, seq } = m;
  if (!isRouterId(id) || !isMode(mode)) return undefined;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return undefined;
  if (!Array.isArray(m.links)) return undefined;
  const links: AdvertisedLink[] = [];
  const seenNeighbors = new Set<string>();
  for (const l of m.links as unknown[]) {
    if (!isRecord(l)) return undefined;
    const { neighbor, cost } = l;
    if (!isRouterId(neighbor) || !isValidCost(cost)) return undefined;
    if (neighbor === id || seenNeighbors.has(neighbor)) return undefined;
    seenNeighbors.add(neighbor);
    links.push({ neighbor, cost });
  }
  links.sort((x, y) => cmpStr(x.neighbor, y.neighbor));
  const addresses = normalizeAddresses(m.addresses);
  if (addresses === undefined) return undefined;
  return { t: 'ra', id, mode, seq, links, addresses };
}

/** Validate a message received from a peer; returns a normalised copy, or undefined if malformed. */
export function parseRoutingMessage(raw: unknown): RoutingMessage | undefined {
  try {
    if (!isRecord(raw)) return undefined;
    switch (raw.t) {
      case 'hello':
        return parseHello(raw);
      case 'ra':
        return parseAd(raw);
      default:
        return undefined;
    }
  } catch {
    // Getters or proxies on hostile objects: treat as malformed rather than throwing.
    return undefined;
  }
}

/** True when two advertisements carry the same mode and links (their SPF-relevant content). */
export function sameTopology(
  a: Pick<RouterAdvertisement, 'mode' | 'links'>,
  b: Pick<RouterAdvertisement, 'mode' | 'links'>,
): boolean {
  if (a.mode !== b.mode || a.links.length !== b.links.length) return false;
  for (let i = 0; i < a.links.length; i++) {
    const x = a.links[i] as AdvertisedLink;
    const y = b.links[i] as AdvertisedLink;
    if (x.neighbor !== y.neighbor || x.cost !== y.cost) return false;
  }
  return true;
}

export function sameAddresses(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i] as string;
    if (k !== kb[i] || a[k] !== b[k]) return false;
  }
  return true;
}

type AdContent = Pick<RouterAdvertisement, 'mode' | 'links' | 'addresses'>;

/** Same content apart from seq (both must be normalised). */
export function sameContent(a: AdContent, b: AdContent): boolean {
  return sameTopology(a, b) && sameAddresses(a.addresses, b.addresses);
}

/** A canonical string of an advertisement's content, used to order two different copies with the same seq. */
export function canonicalContent(a: AdContent): string {
  return JSON.stringify([a.mode, a.links.map((l) => [l.neighbor, l.cost]), Object.entries(a.addresses)]);
}

/**
 * Total order on two copies of one router's advertisement: > 0 if `a` is newer. Higher seq wins; with equal seq and
 * different content (possible after a restart), the lexicographically greater canonical content wins, so every
 * router settles on the same copy and the originator learns it must jump past that seq.
 */
export function compareAds(a: RouterAdvertisement, b: RouterAdvertisement): number {
  if (a.seq !== b.seq) return a.seq > b.seq ? 1 : -1;
  if (sameContent(a, b)) return 0;
  return cmpStr(canonicalContent(a), canonicalContent(b));
}
