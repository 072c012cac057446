/**
 * File-descriptor limits of this process, as the kernel reports them (Linux: /proc/self/limits and /proc/self/fd).
 * Node raises the soft RLIMIT_NOFILE to the hard limit when it starts, so the figure that matters is the hard
 * limit the service manager gave the process (systemd: LimitNOFILE=); the router logs both at start and exports
 * them as metrics. Elsewhere (no /proc) the functions return undefined.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface FdLimits {
  soft: number;
  hard: number;
}

/** Parses the "Max open files" line of a /proc/<pid>/limits text. */
export function parseFdLimits(text: string): FdLimits | undefined {
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const m = line ? /^Max open files\s+(\S+)\s+(\S+)/.exec(line) : null;
  if (!m) return undefined;
  const num = (v: string): number => (v === 'unlimited' ? Infinity : Number(v));
  const soft = num(m[1] as string);
  const hard = num(m[2] as string);
  return Number.isNaN(soft) || Number.isNaN(hard) ? undefined : { soft, hard };
}

export function readFdLimits(): FdLimits | undefined {
  try {
    return parseFdLimits(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

/** File descriptors open now. */
export function openFdCount(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}
