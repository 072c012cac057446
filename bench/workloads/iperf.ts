// iperf3 bulk transfer: N parallel streams, client -> server ('up') or server -> client ('down', -R).
import { runOk } from '../../test/support/proc.js';
import { HOST } from '../ports.js';

export type Direction = 'up' | 'down';

export interface IperfSpec {
  streams: number;
  direction: Direction;
  seconds: number;
}

export interface IperfResult {
  /** Receiver-side rate in MB/s (10^6 bytes per second). */
  mbps: number;
  /** Bytes the receiver got. */
  bytes: number;
  seconds: number;
}

interface IperfJson {
  error?: string;
  end?: { sum_received?: { bytes?: number; seconds?: number; bits_per_second?: number } };
}

export function iperfLabel(s: Pick<IperfSpec, 'streams' | 'direction'>): string {
  const arrow = s.direction === 'up' ? 'client→server' : 'server→client';
  return `iperf3 ${s.streams} stream${s.streams === 1 ? '' : 's'} ${arrow}`;
}

export async function runIperf(iperf3: string, port: number, spec: IperfSpec): Promise<IperfResult> {
  const args = ['-c', HOST, '-p', String(port), '-t', String(spec.seconds), '-P', String(spec.streams), '-J'];
  if (spec.direction === 'down') args.push('-R');
  const r = await runOk(iperf3, args, { timeoutMs: spec.seconds * 1000 + 30_000 });
  const j = JSON.parse(r.stdout) as IperfJson;
  if (j.error) throw new Error(`iperf3: ${j.error}`);
  const sum = j.end?.sum_received;
  if (!sum?.bytes || !sum.seconds) throw new Error('iperf3: no receiver summary in its JSON output');
  return { mbps: sum.bytes / sum.seconds / 1e6, bytes: sum.bytes, seconds: sum.seconds };
}
