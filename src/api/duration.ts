import { CaravanError, ErrorCodes } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Human-readable description of the accepted duration syntax, for error messages. */
export const DURATION_SYNTAX = 'a duration such as 30s, 15m, 1h, 1h30m, 2d or 500ms';

/**
 * Parses a duration string (`500ms`, `30s`, `15m`, `1h`, `2d`, or a sequence such as `1h30m`) into milliseconds.
 * Throws CaravanError(INVALID_RESOURCE) when the text is not a duration.
 */
export function parseDuration(text: string): number {
  const ms = tryParseDuration(text);
  if (ms === undefined) {
    throw new CaravanError(
      ErrorCodes.INVALID_RESOURCE,
      `invalid duration ${JSON.stringify(text)}: expected ${DURATION_SYNTAX}`,
    );
  }
  return ms;
}

/** Like parseDuration, but returns undefined instead of throwing. */
export function tryParseDuration(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const t = text.trim();
  if (!DURATION_RE.test(t)) return undefined;
  let total = 0;
  for (const m of t.matchAll(PART_RE)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** Formats milliseconds as the shortest exact duration string (`90000` → `1m30s`); 0 → `0s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot format duration ${ms}`);
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit] as number;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
