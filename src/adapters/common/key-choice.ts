/**
 * Several routing keys behind one listener (`priority` / `weighted`): which key each new connection tries first,
 * and which after it when every connector of that key refuses. Pure: reachability is asked through a callback.
 */

import { CaravanError, ErrorCodes, errorMessage, isCaravanError } from '../../errors.js';
import type { AdapterHost, OpenedFlow, OpenFlowRequest } from '../../router/contract.js';

/** The routing keys of a listener and how a connection picks one (the same shape as the resource model's). */
export interface ListenerKeys {
  strategy: 'priority' | 'weighted';
  /** in the order written; weight 1 for priority */
  keys: { routingKey: string; weight: number }[];
}

export class KeyChoice {
  /** smooth weighted round robin: each key's running credit */
  private readonly credit = new Map<string, number>();
  /** connections sent to each key (established flows) */
  readonly routed = new Map<string, number>();

  constructor(readonly keys: ListenerKeys) {
    for (const k of keys.keys) {
      this.credit.set(k.routingKey, 0);
      this.routed.set(k.routingKey, 0);
    }
  }

  get strategy(): ListenerKeys['strategy'] {
    return this.keys.strategy;
  }

  /**
   * The keys to try for one connection, in order. Keys without a reachable connector go last, in the order
   * written, so that a failed connection still names every key it tried.
   * - priority: the keys in the order written.
   * - weighted: the key picked by smooth weighted round robin among the reachable ones (so over any run of
   *   connections each reachable key gets its share, evenly interleaved), then the others by weight.
   */
  order(reachable: (key: string) => boolean): string[] {
    const up = this.keys.keys.filter((k) => reachable(k.routingKey));
    const down = this.keys.keys.filter((k) => !up.includes(k)).map((k) => k.routingKey);
    if (this.keys.strategy === 'priority' || up.length < 2) return [...up.map((k) => k.routingKey), ...down];
    let total = 0;
    let best: (typeof up)[number] | undefined;
    for (const k of up) {
      total += k.weight;
      const c = (this.credit.get(k.routingKey) ?? 0) + k.weight;
      this.credit.set(k.routingKey, c);
      if (!best || c > (this.credit.get(best.routingKey) ?? 0)) best = k;
    }
    const chosen = best as (typeof up)[number];
    this.credit.set(chosen.routingKey, (this.credit.get(chosen.routingKey) ?? 0) - total);
    const rest = up.filter((k) => k !== chosen).sort((a, b) => b.weight - a.weight);
    return [chosen.routingKey, ...rest.map((k) => k.routingKey), ...down];
  }

  /** count an established connection for `key` */
  established(key: string): void {
    this.routed.set(key, (this.routed.get(key) ?? 0) + 1);
  }
}

/**
 * A connection or request of a listener with several routing keys: try the keys in the order the choice gives,
 * the next one when no flow could be established to the previous. Only for listeners that send nothing of the
 * client's before the flow is established (no early data), so a key that failed received nothing.
 */
export async function openOverKeys(
  host: AdapterHost,
  choice: KeyChoice,
  request: (routingKey: string) => OpenFlowRequest,
  established: (flow: OpenedFlow) => void,
  clientGone: () => boolean,
): Promise<void> {
  const keys = choice.order((k) => host.reachable(k));
  const failures: string[] = [];
  let last: unknown;
  for (const key of keys) {
    try {
      await host.openFlow(request(key), established);
      choice.established(key);
      return;
    } catch (err) {
      last = err;
      failures.push(`${key}: ${errorMessage(err)}`);
      if (clientGone()) break;
    }
  }
  const code = isCaravanError(last) ? last.code : ErrorCodes.NO_CONNECTOR;
  throw new CaravanError(code, `no flow could be established for any routing key (${failures.join('; ')})`);
}
