// Validation and normalisation of routing messages. Peer input is untrusted: these functions never throw on it,
// they return undefined for anything malformed. Valid messages are copied into fresh, normalised objects
// (links sorted by neighbor, address keys sorted, zero counts dropped) so no reference to peer input is kept.

import { isNetworkKey, isRouterIdName } from '../names.js';
import {
  MAX_INFO_BYTES,
  MAX_KEY_LENGTH,
  MAX_LINK_COST,
  MAX_SEQ,
  MAX_SIGNATURE_LENGTH,
  type AdvertisedLink,
  type Hello,
  type RouterAdvertisement,
  type RouterMode,
  type RoutingMessage,
} from './types.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Router ids from peers follow the one router id pattern (src/names.ts). */
export function isRouterId(v: unknown): v is string {
  return isRouterIdName(v);
}

export function isMode(v: unknown): v is RouterMode {
  return v === 'interior' || v === 'edge';
}

export function isValidCost(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= MAX_LINK_COST;
}

/** Keys in advertisements follow the one pattern of keys that may be routed (src/names.ts). */
export function isRoutingKey(v: unknown): v is string {
  return isNetworkKey(v);
}

// ---- sequence numbers: RFC 1982 serial arithmetic over 1 .. 2^32-1 ---------------------------------------

const HALF = 2 ** 31;

export function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_SEQ;
}

/** The seq after `s` (2^32-1 is followed by 1; 0 is never used). */
export function nextSeq(s: number): number {
  return s >= MAX_SEQ ? 1 : s + 1;
}

/**
 * > 0 if `a` is later than `b`, < 0 if earlier, 0 if equal or exactly half the space apart (undefined in RFC
 * 1982; callers then order by content).
 */
export function compareSeq(a: number, b: number): number {
  if (a === b) return 0;
  const d = (a - b + 2 ** 32) % 2 ** 32;
  if (d === HALF) return 0;
  return d < HALF ? 1 : -1;
}

/** The later of two seqs. */
export function laterSeq(a: number, b: number): number {
  return compareSeq(a, b) >= 0 ? a : b;
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

/** Largest dead interval a HELLO may carry: one day. */
export const MAX_HELLO_DEAD_MS = 24 * 60 * 60 * 1000;

function checkHello(m: Record<string, unknown>): boolean {
  if (!isRouterId(m.id) || !isMode(m.mode) || !Array.isArray(m.seen)) return false;
  for (const s of m.seen as unknown[]) if (!isRouterId(s)) return false;
  if (m.dead !== undefined) {
    const d = m.dead;
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d <= 0 || d > MAX_HELLO_DEAD_MS) return false;
  }
  return true;
}

/** Validates addresses in place (no copy): a plain object of routing key -> non-negative safe integer. */
function checkAddresses(raw: unknown): boolean {
  if (!isRecord(raw)) return false;
  // for..in + hasOwn instead of Object.keys: no array allocated per message (this is the hot path).
  for (const key in raw) {
    if (!Object.hasOwn(raw, key)) continue;
    const count = raw[key];
    if (!isRoutingKey(key)) return false;
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) return false;
  }
  return true;
}

function checkAd(m: Record<string, unknown>): boolean {
  const { id, mode, seq, links } = m;
  if (!isRouterId(id) || !isMode(mode)) return false;
  if (!isSeq(seq)) return false;
  if (typeof m.key !== 'string' || m.key.length === 0 || m.key.length > MAX_KEY_LENGTH) return false;
  if (typeof m.sig !== 'string' || m.sig.length === 0 || m.sig.length > MAX_SIGNATURE_LENGTH) return false;
  if (typeof m.boot !== 'number' || !Number.isFinite(m.boot)) return false;
  if (!Array.isArray(links)) return false;
  // Links must be sorted by neighbor, strictly ascending (so no duplicates), and never name the advertiser.
  let prev = '';
  for (const l of links as unknown[]) {
    if (!isRecord(l)) return false;
    const { neighbor, cost } = l;
    if (!isRouterId(neighbor) || !isValidCost(cost)) return false;
    if (neighbor <= prev || neighbor === id) return false;
    prev = neighbor;
  }
  if (m.info !== undefined && !checkInfo(m.info)) return false;
  return checkAddresses(m.addresses);
}

/** `info` is a plain JSON object of bounded size. */
function checkInfo(info: unknown): boolean {
  if (!isRecord(info) || Array.isArray(info)) return false;
  try {
    return JSON.stringify(info).length <= MAX_INFO_BYTES;
  } catch {
    return false;
  }
}

/**
 * Validates a message received from a peer without copying it (cheap: most advertisements received are
 * duplicates). Returns the same object typed, or undefined if malformed. Address maps may still hold zero
 * counts and unsorted keys: use normalizeAdvertisement() before storing an advertisement.
 */
export function checkRoutingMessage(raw: unknown): RoutingMessage | undefined {
  try {
    if (!isRecord(raw)) return undefined;
    switch (raw.t) {
      case 'hello':
        return checkHello(raw) ? (raw as unknown as Hello) : undefined;
      case 'ra':
        return checkAd(raw) ? (raw as unknown as RouterAdvertisement) : undefined;
      default:
        return undefined;
    }
  } catch {
    // Getters or proxies on hostile objects: treat as malformed rather than throwing.
    return undefined;
  }
}

/** A fresh, normalised copy of a checked advertisement (keeps no reference to the input). */
export function normalizeAdvertisement(ad: RouterAdvertisement): RouterAdvertisement {
  return {
    t: 'ra',
    id: ad.id,
    mode: ad.mode,
    seq: ad.seq,
    boot: ad.boot,
    links: ad.links.map((l) => ({ neighbor: l.neighbor, cost: l.cost })),
    addresses: normalizeAddresses(ad.addresses) as Record<string, number>,
    ...(ad.info !== undefined
      ? { info: JSON.parse(JSON.stringify(ad.info)) as Record<string, unknown> }
      : {}),
    key: ad.key,
    sig: ad.sig,
  };
}

/**
 * The bytes an originator signs: a canonical JSON array of every field but the signature (addresses sorted, zero
 * counts dropped), behind a context string so these bytes mean nothing in any other protocol.
 */
export function adSigningBytes(ad: Omit<RouterAdvertisement, 'sig'>): Buffer {
  return Buffer.from(
    `caravan advertisement v1\n${JSON.stringify([ad.id, ad.key, ad.seq, canonicalContent(ad)])}`,
    'utf8',
  );
}

/** Validates and copies a peer's message; undefined if malformed. */
export function parseRoutingMessage(raw: unknown): RoutingMessage | undefined {
  const m = checkRoutingMessage(raw);
  if (m === undefined) return undefined;
  if (m.t === 'hello') return { t: 'hello', id: m.id, mode: m.mode, seen: [...m.seen] };
  return normalizeAdvertisement(m);
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

/**
 * Same address map. `b` must be normalised; `a` may hold zero counts and keys in any order (a checked, not yet
 * normalised peer advertisement).
 */
export function sameAddresses(a: Record<string, number>, b: Record<string, number>): boolean {
  let n = 0;
  for (const k in a) {
    if (!Object.hasOwn(a, k)) continue;
    const v = a[k] as number;
    if (v === 0) continue;
    n++;
    if (!Object.hasOwn(b, k) || b[k] !== v) return false;
  }
  for (const k in b) if (Object.hasOwn(b, k)) n--;
  return n === 0;
}

/** Same `info` (cheap when both are absent, the common case). */
export function sameInfo(
  a: Record<string, unknown> | undefined,
  b: Record<string, unknown> | undefined,
): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

type AdContent = Pick<RouterAdvertisement, 'mode' | 'links' | 'addresses' | 'boot' | 'info'>;

/** Same content apart from seq (both must be normalised). */
export function sameContent(a: AdContent, b: AdContent): boolean {
  return (
    a.boot === b.boot &&
    sameTopology(a, b) &&
    sameAddresses(a.addresses, b.addresses) &&
    sameInfo(a.info, b.info)
  );
}

/** A canonical string of an advertisement's content, used to order two different copies with the same seq. */
export function canonicalContent(a: AdContent): string {
  const addresses = normalizeAddresses(a.addresses) ?? {};
  return JSON.stringify([
    a.boot,
    a.mode,
    a.links.map((l) => [l.neighbor, l.cost]),
    Object.entries(addresses),
    a.info ?? null,
  ]);
}

/**
 * Order on two copies of one router's advertisement: > 0 if `a` is newer. The later seq wins; with equal seq and
 * different content (possible after a restart), the lexicographically greater canonical content wins, so every
 * router settles on the same copy and the originator learns it must jump past that seq.
 */
export function compareAds(a: RouterAdvertisement, b: RouterAdvertisement): number {
  const bySeq = compareSeq(a.seq, b.seq);
  if (bySeq !== 0) return bySeq;
  if (sameContent(a, b)) return 0;
  return cmpStr(canonicalContent(a), canonicalContent(b));
}
