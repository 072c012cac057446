/**
 * Names that cross a link or a grant (router ids, site names, routing keys) are checked against one set of
 * patterns, the same ones local resources use; everything a peer names that fails them is refused. Output meant
 * for a terminal goes through {@link escapeForTerminal}, so even a name that passed (or text from an older
 * router) cannot move the cursor, change colours or hide text.
 */

/** Resource and site names: a DNS label (lowercase letters, digits, '-'; 1-63 characters). */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Routing keys of listeners and connectors. */
export const ROUTING_KEY_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,251})?$/;
/**
 * Router ids: a self-certifying id `<site>-<26 base32 characters>` (see src/identity.ts) is a DNS label; older
 * routers chose ids of this looser form, which is still accepted where an id is only displayed or compared.
 */
export const ROUTER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** Longest AMQP address accepted from a peer (after its `amqp:` / `amqpq:` prefix). */
const MAX_AMQP_ADDRESS = 512;
/** Printable ASCII without space: what an AMQP address may hold when it crosses a link. */
const AMQP_ADDRESS_PATTERN = /^[\x21-\x7e]+$/;
/** Internal service keys (`$management`, ...). */
const INTERNAL_KEY_PATTERN = /^\$[a-z][a-z0-9-]{0,62}$/;

export function isName(v: unknown): v is string {
  return typeof v === 'string' && NAME_PATTERN.test(v);
}

export function isRouterIdName(v: unknown): v is string {
  return typeof v === 'string' && ROUTER_ID_PATTERN.test(v);
}

/**
 * A key that may appear in the routing table: a routing key, an internal `$key`, or an AMQP address carried as
 * `amqp:<address>` / `amqpq:<address>`.
 */
export function isNetworkKey(v: unknown): v is string {
  if (typeof v !== 'string' || v.length === 0) return false;
  if (ROUTING_KEY_PATTERN.test(v) || INTERNAL_KEY_PATTERN.test(v)) return true;
  const colon = v.indexOf(':');
  if (colon < 0) return false;
  const prefix = v.slice(0, colon);
  if (prefix !== 'amqp' && prefix !== 'amqpq') return false;
  const rest = v.slice(colon + 1);
  return rest.length > 0 && rest.length <= MAX_AMQP_ADDRESS && AMQP_ADDRESS_PATTERN.test(rest);
}

// C0 controls (but tab and, when kept, line feeds), DEL, C1 controls, and the bidirectional overrides and
// isolates that can reorder what a terminal shows (U+202A-U+202E, U+2066-U+2069), plus zero-width and BOM.

const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

const UNSAFE_WITH_BREAKS =
  /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

function escapeChar(ch: string): string {
  const cp = ch.codePointAt(0) as number;
  return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/**
 * Text safe to print on a terminal: control characters, C1 codes and bidi controls become visible `\xNN` /
 * `\uNNNN` escapes. Line breaks are escaped too unless `keepLineBreaks` (for multi-line messages the program
 * itself composed).
 */
export function escapeForTerminal(text: string, opts: { keepLineBreaks?: boolean } = {}): string {
  const re = opts.keepLineBreaks ? UNSAFE : UNSAFE_WITH_BREAKS;
  re.lastIndex = 0;
  if (!re.test(text)) return text;
  re.lastIndex = 0;
  return text.replace(re, escapeChar);
}
