// Polling helper for tests: wait on a condition with a deadline, never on a fixed sleep.

export interface WaitForOptions {
  /** Overall deadline in milliseconds (default 10000). */
  timeoutMs?: number;
  /** Pause between attempts in milliseconds (default 50). */
  intervalMs?: number;
  /** Human-readable description used in the timeout error ("… waiting for <what>"). */
  what: string;
}

const TIMED_OUT: unique symbol = Symbol('timed out');

function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}

/**
 * Calls `fn` until it returns a value other than `undefined`, `null` or `false`, and resolves with that value.
 * Errors thrown (or rejected) by `fn` count as "not yet"; the last one is included in the timeout error.
 * A single attempt that does not settle is abandoned when the deadline passes.
 */
export async function waitFor<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: WaitForOptions,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const started = Date.now();
  const deadline = started + timeoutMs;
  let lastError: unknown;
  let hadError = false;
  let attempts = 0;
  for (;;) {
    attempts++;
    const remaining = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const attempt = Promise.resolve().then(fn);
      const expired = new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), Math.max(remaining, 0));
      });
      const value = await Promise.race([attempt, expired]);
      if (value === TIMED_OUT) {
        // Keep a late rejection of the abandoned attempt from becoming an unhandled rejection.
        attempt.catch(() => undefined);
      } else if (value !== undefined && value !== null && value !== false) {
        return value as T;
      }
    } catch (err) {
      lastError = err;
      hadError = true;
    } finally {
      if (timer) clearTimeout(timer);
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const suffix = hadError ? ` (last error: ${describeError(lastError)})` : '';
      throw new Error(
        `timed out after ${timeoutMs}ms waiting for ${opts.what} (${attempts} attempt${attempts === 1 ? '' : 's'})${suffix}`,
        hadError ? { cause: lastError } : undefined,
      );
    }
    await delay(Math.min(intervalMs, left));
  }
}
