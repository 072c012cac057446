/**
 * What a fuzz target checks: a parser given any bytes either returns or throws one of its typed errors. Anything
 * else (a TypeError, a RangeError from a Buffer read, a stack overflow, an error of the wrong class) is a finding:
 * the harness rethrows it wrapped so the fuzzer reports the input. Hangs are caught by the fuzzer's per-input
 * timeout (scripts/fuzz.mjs).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => Error;

export class FuzzFinding extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FuzzFinding';
  }
}

function check(e: unknown, allowed: readonly ErrorClass[]): void {
  if (allowed.some((c) => e instanceof c)) return;
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  throw new FuzzFinding(`untyped error escaped the parser: ${what}`, { cause: e });
}

/** Runs `fn`; a throw that is not an instance of one of `allowed` becomes a FuzzFinding. */
export function expectTyped(allowed: readonly ErrorClass[], fn: () => void): void {
  try {
    fn();
  } catch (e) {
    check(e, allowed);
  }
}

export async function expectTypedAsync(
  allowed: readonly ErrorClass[],
  fn: () => Promise<void>,
): Promise<void> {
  try {
    await fn();
  } catch (e) {
    check(e, allowed);
  }
}

/** A property every accepted input must have; a violation is a finding too. */
export function invariant(ok: boolean, message: string): void {
  if (!ok) throw new FuzzFinding(`invariant broken: ${message}`);
}

/**
 * Splits `data` into chunks the way a socket might deliver it: the first byte seeds the chunk sizes (1..64), so
 * the fuzzer explores incremental decoding as well as whole messages. Returns the chunks of `data.subarray(1)`.
 */
export function chunked(data: Buffer): Buffer[] {
  if (data.length === 0) return [];
  let seed = (data[0] as number) | 1;
  const body = data.subarray(1);
  const out: Buffer[] = [];
  for (let at = 0; at < body.length;) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const n = seed % 8 === 0 ? body.length - at : 1 + (seed % 64);
    out.push(body.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** Decodes UTF-8 the way the adapters do (invalid sequences become U+FFFD). */
export function text(data: Buffer): string {
  return data.toString('utf8');
}

/** The outcome of decoding a whole input: a summary of what came out, or the error's class name. */
export function outcome(run: () => string[]): { items: string[]; error?: string } {
  try {
    return { items: run() };
  } catch (e) {
    return { items: [], error: e instanceof Error ? e.constructor.name : typeof e };
  }
}

/** Values of the wrong type a hostile peer may put where a field is expected. */
const WRONG_TYPES: readonly unknown[] = [null, 0, -1.5, true, '', [], ['x'], { toString: 1 }];

/**
 * Structure-aware mutation for JSON messages, which byte-level mutation reaches only slowly: the input is
 * `[retype][json]`. A retype byte below 0x80 leaves the JSON as it is; otherwise its low 4 bits pick a value in
 * the document (depth-first, the root excluded, modulo their number) and bits 4-6 the wrong-typed value put in its
 * place.
 */
export function retyped(data: Buffer): Buffer {
  const r = data[0] ?? 0;
  const json = data.subarray(1);
  if (r < 0x80) return json;
  let doc: unknown;
  try {
    doc = JSON.parse(json.toString('utf8'));
  } catch {
    return json;
  }
  const count = (v: unknown): number =>
    v === null || typeof v !== 'object'
      ? 0
      : Object.values(v as Record<string, unknown>).reduce<number>((n, x) => n + 1 + count(x), 0);
  const total = count(doc);
  if (total === 0) return json;
  let index = (r & 0x0f) % total;
  const replacement = WRONG_TYPES[(r >> 4) & 0x07];
  const visit = (v: unknown): boolean => {
    if (v === null || typeof v !== 'object') return false;
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (index-- === 0) {
        o[k] = replacement;
        return true;
      }
      if (visit(o[k])) return true;
    }
    return false;
  };
  visit(doc);
  return Buffer.from(JSON.stringify(doc));
}
