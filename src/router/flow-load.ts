/**
 * Flows in flight, counted where distribution and the per-connector limit read them: the flows this router
 * started toward each destination router per routing key, and the flows each local connector delivers. Each count
 * is taken when a flow starts and given back when its stream closes (once per flow, never per chunk).
 */
import type { FlowStream } from './contract.js';

export class FlowLoad {
  /** `router\0key` → flows this router started toward that router for that key */
  private readonly toDestination = new Map<string, number>();
  /** connector name → flows it delivers */
  private readonly byConnector = new Map<string, number>();

  destination(router: string, key: string): number {
    return this.toDestination.get(`${router}\0${key}`) ?? 0;
  }

  connector(name: string): number {
    return this.byConnector.get(name) ?? 0;
  }

  /** Counts a flow toward `router` for `key` until `stream` closes. */
  trackDestination(router: string, key: string, stream: FlowStream): void {
    const k = `${router}\0${key}`;
    const m = this.toDestination;
    m.set(k, (m.get(k) ?? 0) + 1);
    stream.once('close', () => {
      const n = (m.get(k) ?? 1) - 1;
      if (n <= 0) m.delete(k);
      else m.set(k, n);
    });
  }

  /** Counts a flow delivered by connector `name` until `stream` closes. */
  trackConnector(name: string, stream: FlowStream): void {
    const m = this.byConnector;
    m.set(name, (m.get(name) ?? 0) + 1);
    stream.once('close', () => m.set(name, (m.get(name) ?? 1) - 1));
  }
}
