import type { Logger } from '../observe/log.js';

export type LinkState = 'connecting' | 'up' | 'down' | 'stopped';

/** The one place a link changes state; every transition is logged as `link <name>: A -> B`. */
export class LinkStateMachine {
  private current: LinkState = 'down';
  private since = Date.now();
  lastError: string | undefined;

  constructor(
    private readonly name: string,
    private readonly log: Logger,
  ) {}

  get state(): LinkState {
    return this.current;
  }

  get sinceMs(): number {
    return this.since;
  }

  transition(to: LinkState, reason?: string): void {
    if (to === this.current) return;
    const from = this.current;
    this.current = to;
    this.since = Date.now();
    if (reason !== undefined && to === 'down') this.lastError = reason;
    const fields = reason !== undefined ? { reason } : undefined;
    if (to === 'down') this.log.warn(`link ${this.name}: ${from} -> ${to}`, fields);
    else this.log.info(`link ${this.name}: ${from} -> ${to}`, fields);
  }
}
