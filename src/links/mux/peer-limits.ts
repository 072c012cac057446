/**
 * Limits on what the peer of a mux session can make this side do (docs/design/wire.md §11,
 * docs/design/security.md): how many of its streams may be open, how fast it may open them, how many OPENs one
 * event-loop turn handles.
 */
import type { Clock } from '../../clock.js';
import type { RepeatLog } from '../../observe/repeat-log.js';
import { TokenBucket, type RateLimit } from '../../rate-limit.js';
import type { MuxRefusal } from './options.js';

export interface Refusal {
  why: MuxRefusal;
  reason: string;
}

export class PeerLimits {
  /** the peer's streams open now */
  private open = 0;
  private readonly bucket: TokenBucket;
  private opensThisTurn = 0;
  private turnResetScheduled = false;
  private readonly resetTurn = (): void => {
    this.turnResetScheduled = false;
    this.opensThisTurn = 0;
  };

  constructor(
    private readonly maxStreams: number,
    rate: RateLimit,
    private readonly opensPerTurn: number,
    clock: Clock,
    private readonly faultLog: RepeatLog,
  ) {
    this.bucket = new TokenBucket(rate, clock);
  }

  /** Why the peer's next OPEN is refused, or undefined when it may open a stream (then counted by `opened`). */
  check(): Refusal | undefined {
    if (this.open >= this.maxStreams) {
      this.faultLog.warn(
        'refused-streams',
        'stream refused: the peer has too many open streams on this link',
        {
          limit: this.maxStreams,
        },
      );
      return { why: 'link-streams', reason: `too many open streams on this link (limit ${this.maxStreams})` };
    }
    if (!this.bucket.take()) {
      this.faultLog.warn('refused-rate', 'stream refused: the peer opens streams too fast on this link');
      return { why: 'link-rate', reason: 'streams opened too fast on this link' };
    }
    return undefined;
  }

  opened(): void {
    this.open++;
  }

  closed(): void {
    this.open--;
  }

  /** One more OPEN handled this turn; true when the turn's budget is used up (stop reading until the next turn). */
  countOpen(): boolean {
    if (!this.turnResetScheduled) {
      this.turnResetScheduled = true;
      setImmediate(this.resetTurn);
    }
    return ++this.opensThisTurn >= this.opensPerTurn;
  }
}
