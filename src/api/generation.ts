/**
 * `metadata.generation`: whoever writes a resource bumps it each time the spec changes (the CLI on a host
 * site, the API server in Kubernetes); status conditions name the generation they describe.
 */
import type { Resource } from './types.js';

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The generation `next` gets when it replaces `previous` (undefined: it is new). A new resource starts at 1;
 * an unchanged spec keeps the previous generation (none if it had none); a changed spec is the previous one
 * plus one (2 when the previous had none: it was a first version).
 */
export function nextGeneration(previous: Resource | undefined, next: Resource): number | undefined {
  if (!previous) return 1;
  const prev = previous.metadata.generation;
  if (same(previous.spec, next.spec)) return prev;
  return (prev ?? 1) + 1;
}

/** `resource` with the generation it gets when written over `previous` (a copy; the input is not changed). */
export function withNextGeneration<R extends Resource>(previous: Resource | undefined, resource: R): R {
  const r = structuredClone(resource);
  const g = nextGeneration(previous, r);
  if (g === undefined) delete r.metadata.generation;
  else r.metadata.generation = g;
  return r;
}
