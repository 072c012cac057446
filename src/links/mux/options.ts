/** The options, defaults, statistics and fault kinds of a mux session (session.ts). */
import type { Logger } from '../../observe/log.js';
import type { Clock } from '../../clock.js';
import type { RateLimit } from '../../rate-limit.js';

export interface MuxSessionOptions {
  /** dialling end: odd stream ids */
  initiator: boolean;
  /** our receive window per stream, announced in the preface; default 256 KiB */
  initialWindow?: number;
  /** a stream's receive window may grow to this for bulk flows; default 1 MiB (set it to initialWindow to disable growth) */
  maxStreamWindow?: number;
  /** max DATA payload per frame we send; default 64 KiB */
  maxFrameSize?: number;
  /** stop writing into the socket while socket.writableLength > this; default 128 KiB */
  maxSocketQueue?: number;
  /** send PING this often and measure RTT; 0/undefined = off */
  keepaliveIntervalMs?: number;
  /** destroy the session with ErrorCodes.LINK_TIMEOUT if nothing at all was received for this long; 0/undefined = off */
  idleTimeoutMs?: number;
  logger?: Logger;
  /**
   * the session's time and timers: keepalive, RTT, idle and preface timeouts, the open rate, log summaries;
   * default systemClock
   */
  clock?: Clock;
  /** close the session (LINK_TIMEOUT) when the peer's preface has not arrived after this long; default 10 s, 0 = off */
  prefaceTimeoutMs?: number;
  /** streams opened by the peer that may be open at once; further OPENs are refused (REFUSED); default 10,000 */
  maxPeerStreams?: number;
  /** how fast the peer may open streams; further OPENs are refused (REFUSED); default 5,000/s, burst 10,000 */
  peerOpenRate?: RateLimit;
  /**
   * replies to the peer (PING acknowledgements, RESETs of its streams) that may wait unsent because the peer does not
   * read; one more closes the session; default 16,384
   */
  maxQueuedReplies?: number;
  /** OPENs handled in one event-loop turn; the rest of the read waits for the next turn; default 128 */
  opensPerTurn?: number;
  /** told once when the session is closed for a fault of the peer (for a metric) */
  onFault?: (kind: MuxFault) => void;
}

/** Why a session was closed for its peer's fault. */
export type MuxFault = 'preface-timeout' | 'unread-replies' | 'protocol';

/** Why an OPEN from the peer was refused with REFUSED. */
export type MuxRefusal = 'link-streams' | 'link-rate' | 'going-away' | 'no-acceptor';

export interface MuxStats {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  streamsOpened: number;
  streamsAccepted: number;
  /** OPENs from the peer refused with REFUSED (limits, going away) */
  streamsRefused: number;
  activeStreams: number;
}

export const DEFAULT_INITIAL_WINDOW = 256 * 1024;
/** A stream's receive window grows up to this for bulk flows (auto-tuning); memory per stream stays bounded by it. */
export const MAX_STREAM_WINDOW = 1024 * 1024;
export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024;
export const DEFAULT_MAX_SOCKET_QUEUE = 128 * 1024;
export const DEFAULT_PREFACE_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_PEER_STREAMS = 10_000;
export const DEFAULT_PEER_OPEN_RATE: RateLimit = { perSecond: 5_000, burst: 10_000 };
export const DEFAULT_MAX_QUEUED_REPLIES = 16_384;
export const DEFAULT_OPENS_PER_TURN = 128;
