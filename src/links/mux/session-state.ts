/**
 * The life of a mux session as an explicit state machine (docs/design/wire.md §1, §8; docs/design/architecture.md,
 * "The mux"). Pure: `MuxSession` holds one `SessionState` and changes it only through `nextSessionState`.
 *
 * ```
 *   preface ──peer preface──▶ open ──GOAWAY sent or received──▶ going-away ──no streams left──▶ ending
 *   preface ──GOAWAY sent──▶ going-away            (the peer's preface may still arrive in going-away and ending)
 *   every state but closed ──connection closed, destroy(), session error, timeout──▶ closed
 * ```
 *
 * `ending`: our queue is flushed, then our direction of the byte stream ends; the session is closed once the
 * connection is. Which GOAWAYs were exchanged (sent, received, both) the session records beside the state: it
 * decides whether the peer's late OPENs are refused and what `openStream` reports.
 */

export const SessionState = {
  /** our preface is sent, the peer's has not arrived: no DATA yet */
  Preface: 0,
  /** both prefaces exchanged */
  Open: 1,
  /** GOAWAY sent or received: no new streams, the existing ones run to their end */
  GoingAway: 2,
  /** GOAWAY and no streams left: the queue is flushed, then our direction of the connection ends */
  Ending: 3,
  /** final */
  Closed: 4,
} as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

const NAMES: readonly string[] = ['preface', 'open', 'going-away', 'ending', 'closed'];

export function sessionStateName(s: SessionState): string {
  return NAMES[s] ?? `state-${String(s)}`;
}

export const SessionEvent = {
  /** the peer's preface arrived and was valid */
  PrefaceReceived: 0,
  GoAwaySent: 1,
  GoAwayReceived: 2,
  /** after GOAWAY, the last stream is gone */
  Drained: 3,
  /** the connection closed, or the session was destroyed */
  Close: 4,
} as const;
export type SessionEvent = (typeof SessionEvent)[keyof typeof SessionEvent];

const EVENT_NAMES: readonly string[] = [
  'preface-received',
  'goaway-sent',
  'goaway-received',
  'drained',
  'close',
];

export function sessionEventName(e: SessionEvent): string {
  return EVENT_NAMES[e] ?? `event-${String(e)}`;
}

const S = SessionState;
const X = -1;

/** TABLE[state][event]: the next state, or X. A row may name its own state: the event is allowed and changes nothing. */
// prettier-ignore
const TABLE: readonly (readonly number[])[] = [
  //               PrefaceReceived  GoAwaySent    GoAwayReceived  Drained   Close
  /* preface */    [S.Open,         S.GoingAway,  X,              X,        S.Closed],
  /* open */       [X,              S.GoingAway,  S.GoingAway,    X,        S.Closed],
  /* going-away */ [S.GoingAway,    S.GoingAway,  S.GoingAway,    S.Ending, S.Closed],
  /* ending */     [S.Ending,       S.Ending,     S.Ending,       X,        S.Closed],
  /* closed */     [X,              X,            X,              X,        X],
];

/** The state `event` leads to from `state`, or undefined when the event is not allowed there. */
export function nextSessionState(state: SessionState, event: SessionEvent): SessionState | undefined {
  const next = TABLE[state]?.[event];
  return next === undefined || next === X ? undefined : (next as SessionState);
}
