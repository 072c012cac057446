/**
 * Header handling of an HTTP intermediary (RFC 9110 §7.6, RFC 9112): hop-by-hop fields are removed at each hop,
 * `Via` is appended, `Host` is kept end to end, `X-Forwarded-For` is appended on request.
 */

/** Always hop-by-hop (RFC 9110 §7.6.1 plus the historical Keep-Alive / Proxy-Connection). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
]);

export interface FilteredHeaders {
  headers: string[];
  contentLength: boolean;
  chunked: boolean;
  upgrade: string | undefined;
}

/**
 * Removes hop-by-hop fields (and those named in Connection) from a raw [name, value, ...] list. `keepUpgrade`
 * keeps `Upgrade` and `Connection: upgrade` for a protocol switch. `drop` names extra fields to remove.
 */
export function filterHeaders(
  raw: readonly string[],
  keepUpgrade: boolean,
  drop: readonly string[] = [],
): FilteredHeaders {
  const named = new Set<string>(drop);
  let upgrade: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i]!.toLowerCase();
    if (n === 'connection') {
      for (const tok of raw[i + 1]!.split(',')) {
        const t = tok.trim().toLowerCase();
        if (t) named.add(t);
      }
    } else if (n === 'upgrade') upgrade = raw[i + 1];
  }
  const out: string[] = [];
  let contentLength = false;
  let chunked = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const n = name.toLowerCase();
    if (n === 'transfer-encoding') chunked = true;
    if (n === 'content-length') contentLength = true;
    if (keepUpgrade && n === 'upgrade') {
      out.push(name, raw[i + 1]!);
      continue;
    }
    if (HOP_BY_HOP.has(n) || (named.has(n) && n !== 'content-length' && n !== 'host')) continue;
    out.push(name, raw[i + 1]!);
  }
  if (keepUpgrade && upgrade !== undefined) out.push('Connection', 'Upgrade');
  return { headers: out, contentLength, chunked: chunked && !contentLength, upgrade };
}

/** Appends `value` to the (comma-joined) field `name`, adding it when absent. */
export function appendHeader(headers: string[], name: string, value: string): void {
  const lower = name.toLowerCase();
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === lower) {
      headers[i + 1] = `${headers[i + 1]}, ${value}`;
      return;
    }
  }
  headers.push(name, value);
}

export function hasHeader(headers: readonly string[], name: string): boolean {
  const lower = name.toLowerCase();
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === lower) return true;
  return false;
}

/** The address part of `host:port` / `[v6]:port`. */
export function clientAddress(client: string): string {
  if (client.startsWith('[')) return client.slice(1, client.indexOf(']'));
  const i = client.lastIndexOf(':');
  return i > 0 ? client.slice(0, i) : client;
}

/** `Via` value for a message received as HTTP/`version`. */
export function viaValue(version: string): string {
  return `${version === '1.0' ? '1.0' : '1.1'} caravan`;
}
