/**
 * The state of a link session at the router, in both directions (docs/design/architecture.md, "State machines"):
 * `hello` (the session is the router's; the peer has not said `hi`), `registered` (its `hi` matched its
 * certificate; the routing adjacency is forming), `up` (the adjacency is two-way: the link carries routes and
 * flows), `down` (the session closed; final). Only a link past `hello` takes flows.
 */
import type { Logger } from '../observe/log.js';
import { StateMachine, type TransitionTable } from '../state-machine.js';

export type LinkSessionState = 'hello' | 'registered' | 'up' | 'down';

export const LINK_SESSION_TRANSITIONS: TransitionTable<LinkSessionState> = {
  hello: ['registered', 'down'],
  registered: ['up', 'down'],
  up: ['down'],
  down: [],
};

export class LinkSessionMachine extends StateMachine<LinkSessionState> {
  constructor(id: string, log: Logger) {
    super('link', id, LINK_SESSION_TRANSITIONS, 'hello', log);
  }

  /** the peer's `hi` was accepted (registered or up) and the link is not down */
  get registered(): boolean {
    const s = this.state;
    return s === 'registered' || s === 'up';
  }
}
