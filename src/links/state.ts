/**
 * The states of a link at the transport (docs/design/architecture.md, "State machines"): an outbound link is the
 * dialer's (`OutboundLinkMachine`: it connects, is up, drops and redials until the Link is deleted); an inbound
 * link is the acceptor's (`InboundLinkMachine`: accepted, up, down). What happens on the session once it is up
 * (hello, two-way adjacency) is the router's (router/link-state.ts).
 */
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../observe/log.js';
import { StateMachine, type TransitionTable } from '../state-machine.js';

/** Outbound: `down` (not connected; waiting to dial), `connecting`, `up` (session ready), `stopped` (final). */
export type LinkState = 'connecting' | 'up' | 'down' | 'stopped';

export const OUTBOUND_LINK_TRANSITIONS: TransitionTable<LinkState> = {
  down: ['connecting', 'stopped'],
  connecting: ['up', 'down', 'stopped'],
  up: ['down', 'stopped'],
  stopped: [],
};

/**
 * The state of one dialled link, when it last changed and the last reason it went down. Transitions are logged at
 * debug level by the machine; the dialer logs what an operator needs (connected, down and why) itself.
 */
export class OutboundLinkMachine extends StateMachine<LinkState> {
  private since: number;
  lastError: string | undefined;

  constructor(
    name: string,
    log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    super('link', name, OUTBOUND_LINK_TRANSITIONS, 'down', log);
    this.since = clock.now();
  }

  /** wall time (ms) of the last transition */
  get sinceMs(): number {
    return this.since;
  }

  /** Moves to `to` (ILLEGAL_TRANSITION if the table does not allow it); `reason` is kept when it goes down. */
  override transition(to: LinkState, reason?: string): LinkState {
    const from = super.transition(to, reason);
    this.since = this.clock.now();
    if (reason !== undefined && to === 'down') this.lastError = reason;
    return from;
  }
}

/**
 * Inbound: `preface` (TLS verified, the certificate accepted; waiting for the peer's mux preface), `up` (the
 * session is ready and belongs to the router), `down` (closed; final).
 */
export type InboundLinkState = 'preface' | 'up' | 'down';

export const INBOUND_LINK_TRANSITIONS: TransitionTable<InboundLinkState> = {
  preface: ['up', 'down'],
  up: ['down'],
  down: [],
};

export class InboundLinkMachine extends StateMachine<InboundLinkState> {
  constructor(id: string, log: Logger) {
    super('link', id, INBOUND_LINK_TRANSITIONS, 'preface', log);
  }
}
