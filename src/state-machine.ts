/**
 * Explicit state machines: a set of states, a table of the moves allowed from each, and one `transition` that
 * refuses every other move with a typed error (ILLEGAL_TRANSITION) and logs each move at debug level as
 * `[<kind>=<id>] A -> B`. Links (links/state.ts, router/link-state.ts) and tcp flows (adapters/tcp/flow-state.ts)
 * are built on it; docs/design/architecture.md ("State machines") draws each one.
 *
 * A machine lives per link or per flow and moves on link and flow events, never per data chunk: it holds no more
 * than its state, and the debug line is only formatted when debug logging is on.
 */
import { CaravanError, ErrorCodes } from './errors.js';

/** The moves a machine allows: for every state, the states it may go to (none: the state is final). */
export type TransitionTable<S extends string> = { readonly [K in S]: readonly S[] };

/** What a machine logs through (a `Logger` of observe/log.ts fits). */
export interface TransitionLog {
  debug(msg: string, fields?: Record<string, unknown>): void;
  enabled(level: 'debug'): boolean;
}

export class StateMachine<S extends string> {
  private current: S;

  /**
   * @param kind what the machine is the state of (`link`, `flow`); it names the id in the log line
   * @param id the link or flow id
   */
  constructor(
    readonly kind: string,
    readonly id: string,
    private readonly table: TransitionTable<S>,
    initial: S,
    private readonly log: TransitionLog,
  ) {
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  /** Whether the table allows a move from the current state to `to`. */
  can(to: S): boolean {
    return this.table[this.current].includes(to);
  }

  /** No move is allowed from the current state. */
  get final(): boolean {
    return this.table[this.current].length === 0;
  }

  /**
   * Moves to `to` and returns the state it left. A move the table does not allow throws a CaravanError with
   * code ILLEGAL_TRANSITION and leaves the state as it was.
   */
  transition(to: S, reason?: string): S {
    const from = this.current;
    if (!this.table[from].includes(to)) {
      throw new CaravanError(
        ErrorCodes.ILLEGAL_TRANSITION,
        `${this.kind} ${this.id}: no transition from ${from} to ${to}`,
      );
    }
    this.current = to;
    if (this.log.enabled('debug')) {
      this.log.debug(
        `[${this.kind}=${this.id}] ${from} -> ${to}`,
        reason !== undefined ? { reason } : undefined,
      );
    }
    return from;
  }
}
