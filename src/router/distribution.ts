/**
 * Distribution: how a new flow picks a destination among the routers (and local connectors) that serve its
 * routing key. Pure; the core supplies costs and in-flight counts.
 *
 * - `closest`: lowest path cost; ties go to fewer in-flight flows, then the lower router id.
 * - `balanced`: lowest (path cost + in-flight flows). An idle network sends every flow to the nearest connector;
 *   as flows pile up there, farther connectors take the overflow, in proportion to how much farther they are.
 *   Ties go to the lower cost, then the lower router id, so choices are deterministic for a given state.
 * - With a `rotation` counter (HTTP listeners: one flow per request), exact ties are broken round-robin instead.
 */
export type Distribution = 'balanced' | 'closest';

export interface Candidate {
  router: string;
  cost: number;
  inFlight: number;
}

export function chooseDestination<C extends Candidate>(
  cands: readonly C[],
  mode: Distribution,
  rotation?: number,
): C | undefined {
  let best: C | undefined;
  for (const c of cands) {
    if (best === undefined || better(c, best, mode)) best = c;
  }
  if (best === undefined || rotation === undefined) return best;
  // Round-robin among the candidates exactly as good as the best (only when the caller asks for it).
  const b = best;
  const tied = cands.filter((c) => equallyGood(b, c, mode)).sort((x, y) => (x.router < y.router ? -1 : 1));
  return tied[rotation % tied.length] ?? best;
}

/** Neither is better than the other before the router-id tie-break. */
function equallyGood(a: Candidate, b: Candidate, mode: Distribution): boolean {
  if (a.cost !== b.cost) return false;
  return mode === 'balanced' ? a.cost + a.inFlight === b.cost + b.inFlight : a.inFlight === b.inFlight;
}

function better(a: Candidate, b: Candidate, mode: Distribution): boolean {
  if (mode === 'balanced') {
    const sa = a.cost + a.inFlight;
    const sb = b.cost + b.inFlight;
    if (sa !== sb) return sa < sb;
    if (a.cost !== b.cost) return a.cost < b.cost;
  } else {
    if (a.cost !== b.cost) return a.cost < b.cost;
    if (a.inFlight !== b.inFlight) return a.inFlight < b.inFlight;
  }
  return a.router < b.router;
}
