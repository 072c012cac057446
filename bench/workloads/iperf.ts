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

/**
 * One iperf3 run; retried (up to 4 times, 1 s apart) when the server is still finishing the previous test or the
 * control connection broke, both transient on a loaded machine.
 */
export function runIperf(iperf3: string, port: number, spec: IperfSpec): Promise<IperfResult> {
  return withIperfRetry(() => runIperfOnce(iperf3, port, spec));
}

/** Runs `once` again (up to 4 attempts, 1 s apart) while it fails the way a busy iperf3 server makes it fail. */
export async function withIperfRetry<R>(once: () => Promise<R>): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once();
    } catch (e) {
      const transient = /server is busy|control socket has closed|unable to (connect|receive)/.test(
        String(e),
      );
      if (!transient || attempt >= 4) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function runIperfOnce(iperf3: string, port: number, spec: IperfSpec): Promise<IperfResult> {
  const args = ['-c', HOST, '-p', String(port), '-t', String(spec.seconds), '-P', String(spec.streams), '-J'];
  if (spec.direction === 'down') args.push('-R');
  const r = await runOk(iperf3, args, { timeoutMs: spec.seconds * 1000 + 30_000 });
  const j = JSON.parse(r.stdout) as IperfJson;
  if (j.error) throw new Error(`iperf3: ${j.error}`);
  const sum = j.end?.sum_received;
  if (!sum?.bytes || !sum.seconds) throw new Error('iperf3: no receiver summary in its JSON output');
  return { mbps: sum.bytes / sum.seconds / 1e6, bytes: sum.bytes, seconds: sum.seconds };
}
