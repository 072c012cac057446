/**
 * Which `Host` (and `Origin`) the console answers to, and the headers every console response carries. Pure
 * functions: the console server feeds them its bound address, the configured names and the machine's interfaces.
 */
import { hostname } from 'node:os';
import type { NetworkInterfaceInfo } from 'node:os';

/** Names every console answers to: a browser only sends them when its user typed them. */
const LOCAL_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARD = new Set(['', '0.0.0.0', '::', '[::]']);

/** Lower case, without IPv6 brackets, a trailing dot or an IPv4-mapped prefix. */
export function normalizeHost(h: string): string {
  let x = h.trim().toLowerCase();
  if (x.startsWith('[') && x.endsWith(']')) x = x.slice(1, -1);
  if (x.endsWith('.')) x = x.slice(0, -1);
  if (x.startsWith('::ffff:') && x.includes('.')) x = x.slice(7);
  return x;
}

/**
 * The host part of a Host header (`name`, `name:port`, `1.2.3.4:port`, `[v6]:port`), normalized; undefined when
 * the header is not a host.
 */
export function hostOfHeader(header: string): string | undefined {
  const v = header.trim();
  let host: string;
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0) return undefined;
    const rest = v.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    host = v.slice(1, end);
  } else {
    const m = /^([^:]+)(?::\d{1,5})?$/.exec(v);
    if (!m) return undefined;
    host = m[1] as string;
  }
  if (host === '' || /[\s/\\@?#]/.test(host)) return undefined;
  return normalizeHost(host);
}

/** The host of an Origin header (`scheme://host[:port]`); undefined for `null` or anything not a URL. */
export function originHost(origin: string): string | undefined {
  try {
    const u = new URL(origin);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return normalizeHost(u.hostname);
  } catch {
    return undefined;
  }
}

/**
 * The hosts a console bound to `bound` answers to: the localhost names, the bound address (every address of the
 * machine and its host name when bound to a wildcard address) and the configured `extra` names.
 */
export function consoleHosts(
  bound: string,
  extra: readonly string[],
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
): Set<string> {
  const out = new Set<string>(LOCAL_NAMES);
  if (WILDCARD.has(bound.trim())) {
    for (const list of Object.values(interfaces))
      for (const i of list ?? []) out.add(normalizeHost(i.address.split('%')[0] ?? i.address));
    out.add(normalizeHost(hostname()));
  } else out.add(normalizeHost(bound));
  for (const h of extra) out.add(normalizeHost(h));
  return out;
}

/**
 * Sent with every console response: the page runs only its own scripts and styles, talks only to its own
 * origin, and may not be framed (clickjacking) or sniffed into another content type.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};
