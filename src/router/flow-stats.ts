import type { ErrorCode } from '../errors.js';

export interface KeyFlowStats {
  opened: number;
  established: number;
  failed: number;
  setupMsTotal: number;
}

/** Counters for flows started at this router, per routing key, and failures per error code. */
export class FlowStats {
  readonly byKey = new Map<string, KeyFlowStats>();
  readonly failuresByCode = new Map<ErrorCode, number>();

  private entry(key: string): KeyFlowStats {
    let e = this.byKey.get(key);
    if (!e) {
      e = { opened: 0, established: 0, failed: 0, setupMsTotal: 0 };
      this.byKey.set(key, e);
    }
    return e;
  }

  opening(key: string): void {
    this.entry(key).opened++;
  }

  established(key: string, setupMs: number): void {
    const e = this.entry(key);
    e.established++;
    e.setupMsTotal += setupMs;
  }

  failed(key: string, code: ErrorCode): void {
    this.entry(key).failed++;
    this.failuresByCode.set(code, (this.failuresByCode.get(code) ?? 0) + 1);
  }

  toJSON(): { byKey: Record<string, KeyFlowStats>; failuresByCode: Record<string, number> } {
    return { byKey: Object.fromEntries(this.byKey), failuresByCode: Object.fromEntries(this.failuresByCode) };
  }
}
