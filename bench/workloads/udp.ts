// iperf3 -u: datagrams at a fixed rate, client -> server; the loss the server counted (lost / sent datagrams).
import { runOk } from '../../test/support/proc.js';
import { HOST } from '../ports.js';
import { withIperfRetry } from './iperf.js';

export interface UdpSpec {
  /** offered rate, Mbit/s */
  mbit: number;
  /** datagram payload, bytes (iperf3 -l) */
  length: number;
  seconds: number;
}

export interface UdpResult {
  lossPercent: number;
  packets: number;
  lostPackets: number;
  /** the rate the server received, Mbit/s */
  receivedMbit: number;
}

interface UdpSum {
  packets?: number;
  lost_packets?: number;
  lost_percent?: number;
  bytes?: number;
  seconds?: number;
}

interface UdpJson {
  error?: string;
  end?: { sum?: UdpSum; sum_received?: UdpSum };
}

export function udpLabel(s: Pick<UdpSpec, 'mbit' | 'length'>): string {
  return `iperf3 -u ${s.mbit} Mbit/s -l ${s.length} loss`;
}

/** One iperf3 -u run (retried like the TCP runs while the server is busy with the previous test). */
export function runUdp(iperf3: string, port: number, spec: UdpSpec): Promise<UdpResult> {
  return withIperfRetry(() => runUdpOnce(iperf3, port, spec));
}

async function runUdpOnce(iperf3: string, port: number, spec: UdpSpec): Promise<UdpResult> {
  const args = ['-c', HOST, '-p', String(port), '-u', '-b', `${spec.mbit}M`, '-l', String(spec.length)];
  args.push('-t', String(spec.seconds), '-J');
  const r = await runOk(iperf3, args, { timeoutMs: spec.seconds * 1000 + 30_000 });
  const j = JSON.parse(r.stdout) as UdpJson;
  if (j.error) throw new Error(`iperf3: ${j.error}`);
  // iperf3 3.12 reports the server's count of a UDP test in end.sum; later versions also in end.sum_received
  const sum = j.end?.sum_received ?? j.end?.sum;
  if (!sum || typeof sum.packets !== 'number' || sum.packets <= 0 || typeof sum.lost_packets !== 'number') {
    throw new Error('iperf3: no UDP loss summary in its JSON output');
  }
  const lost = Math.max(0, sum.lost_packets);
  return {
    lossPercent: (100 * lost) / sum.packets,
    packets: sum.packets,
    lostPackets: lost,
    receivedMbit: sum.seconds ? (8 * (sum.packets - lost) * spec.length) / sum.seconds / 1e6 : NaN,
  };
}
