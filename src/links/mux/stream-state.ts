/**
 * The life of one mux stream as an explicit state machine (docs/design/wire.md §5–6, docs/design/architecture.md,
 * "The mux"). Pure: no I/O, no stream object; `MuxStream` holds one `StreamState` and changes it only through
 * `nextStreamState`.
 *
 * ```
 *   idle ──OPEN sent──▶ opening ──ACCEPT received──▶ open
 *   opening ──FIN sent──▶ opening-half-closed-local ──ACCEPT received──▶ half-closed-local
 *   idle ──OPEN received──▶ offered ──ACCEPT sent──▶ open
 *   offered ──FIN received──▶ offered-half-closed-remote ──ACCEPT sent──▶ half-closed-remote
 *   open ──FIN sent──▶ half-closed-local ──FIN received──▶ closing
 *   open ──FIN received──▶ half-closed-remote ──FIN sent──▶ closing
 *   closing ──flush done and 'end' delivered──▶ closed
 *   every state but idle, closed and reset ──RESET either way, stream error, session lost──▶ reset
 * ```
 *
 * `closing` is "both FINs exchanged, not yet removed": the flush that wrote our FIN has to finish, or the peer's
 * FIN waits behind data the application has not taken yet. `closed` and `reset` are final.
 */

export const StreamState = {
  /** created, no OPEN sent or received yet */
  Idle: 0,
  /** we sent OPEN, the peer has not accepted; we may send DATA and FIN, the peer may not */
  Opening: 1,
  /** we sent OPEN and our FIN, the peer has not accepted */
  OpeningHalfClosedLocal: 2,
  /** the peer sent OPEN, we have not accepted; the peer may send DATA and FIN, we may not */
  Offered: 3,
  /** the peer sent OPEN and its FIN, we have not accepted */
  OfferedHalfClosedRemote: 4,
  /** accepted, both directions open */
  Open: 5,
  /** our FIN was sent; the peer may still send */
  HalfClosedLocal: 6,
  /** the peer's FIN was received; we may still send */
  HalfClosedRemote: 7,
  /** both FINs exchanged; removed once the flush is done and the application has had 'end' */
  Closing: 8,
  /** ended cleanly both ways (final) */
  Closed: 9,
  /** aborted: RESET either way, a stream error, or the session was lost (final) */
  Reset: 10,
} as const;
export type StreamState = (typeof StreamState)[keyof typeof StreamState];

const NAMES: readonly string[] = [
  'idle',
  'opening',
  'opening-half-closed-local',
  'offered',
  'offered-half-closed-remote',
  'open',
  'half-closed-local',
  'half-closed-remote',
  'closing',
  'closed',
  'reset',
];

export function streamStateName(s: StreamState): string {
  return NAMES[s] ?? `state-${String(s)}`;
}

/** What happens to a stream; `nextStreamState` says where each leads. */
export const StreamEvent = {
  OpenSent: 0,
  OpenReceived: 1,
  /** we accepted the peer's OPEN */
  AcceptSent: 2,
  /** the peer accepted our OPEN */
  AcceptReceived: 3,
  FinSent: 4,
  FinReceived: 5,
  /** both FINs exchanged, the flush is done and 'end' was delivered: remove the stream */
  Finished: 6,
  /** RESET sent or received, a stream error, or the session was lost */
  Reset: 7,
} as const;
export type StreamEvent = (typeof StreamEvent)[keyof typeof StreamEvent];

const EVENT_NAMES: readonly string[] = [
  'open-sent',
  'open-received',
  'accept-sent',
  'accept-received',
  'fin-sent',
  'fin-received',
  'finished',
  'reset',
];

export function streamEventName(e: StreamEvent): string {
  return EVENT_NAMES[e] ?? `event-${String(e)}`;
}

const S = StreamState;
const X = -1; // illegal

/** TABLE[state][event]: the next state, or X. Rows in StreamState order, columns in StreamEvent order. */
// prettier-ignore
const TABLE: readonly (readonly number[])[] = [
  //            OpenSent   OpenRecv   AcceptSent             AcceptRecv            FinSent                    FinRecv                      Finished  Reset
  /* idle */   [S.Opening, S.Offered, X,                     X,                    X,                         X,                           X,        X],
  /* opening */[X,         X,         X,                     S.Open,               S.OpeningHalfClosedLocal,  X,                           X,        S.Reset],
  /* op-hcl */ [X,         X,         X,                     S.HalfClosedLocal,    X,                         X,                           X,        S.Reset],
  /* offered */[X,         X,         S.Open,                X,                    X,                         S.OfferedHalfClosedRemote,   X,        S.Reset],
  /* of-hcr */ [X,         X,         S.HalfClosedRemote,    X,                    X,                         X,                           X,        S.Reset],
  /* open */   [X,         X,         X,                     X,                    S.HalfClosedLocal,         S.HalfClosedRemote,          X,        S.Reset],
  /* hcl */    [X,         X,         X,                     X,                    X,                         S.Closing,                   X,        S.Reset],
  /* hcr */    [X,         X,         X,                     X,                    S.Closing,                 X,                           X,        S.Reset],
  /* closing */[X,         X,         X,                     X,                    X,                         X,                           S.Closed, S.Reset],
  /* closed */ [X,         X,         X,                     X,                    X,                         X,                           X,        X],
  /* reset */  [X,         X,         X,                     X,                    X,                         X,                           X,        X],
];

/** The state `event` leads to from `state`, or undefined when the event is not allowed there. */
export function nextStreamState(state: StreamState, event: StreamEvent): StreamState | undefined {
  const next = TABLE[state]?.[event];
  return next === undefined || next === X ? undefined : (next as StreamState);
}

function mask(...states: StreamState[]): number {
  let m = 0;
  for (const s of states) m |= 1 << s;
  return m;
}

/** States in which we may still send DATA and FIN (our direction is open and, for a peer's stream, accepted). */
export const MAY_SEND = mask(S.Opening, S.Open, S.HalfClosedRemote);
/** States in which the peer may send DATA (its direction is open and, for our stream, it accepted). */
export const PEER_MAY_SEND = mask(S.Offered, S.Open, S.HalfClosedLocal);
/** States in which the peer has not sent its FIN yet (credit is still worth returning). */
export const PEER_OPEN = mask(S.Opening, S.OpeningHalfClosedLocal, S.Offered, S.Open, S.HalfClosedLocal);
/** States in which the peer has not accepted our OPEN yet. */
export const AWAITING_ACCEPT = mask(S.Opening, S.OpeningHalfClosedLocal);
/** Final states: the stream is no longer part of its session. */
export const FINAL = mask(S.Closed, S.Reset);

/** true when `state` is one of the states in `m` (one of the masks above). */
export function inStates(m: number, state: StreamState): boolean {
  return (m & (1 << state)) !== 0;
}
