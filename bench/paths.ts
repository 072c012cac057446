// The ways a client reaches the servers in the benchmark, all on 127.0.0.1:
//   direct        client -> server
//   caravan-1hop  client -> listener router => connector router -> server (one mTLS link)
//   caravan-2hop  client -> listener router => transit router => connector router -> server
//   stunnel       client -> stunnel client => stunnel server -> server (mutual TLS)
//   node-tls      the same tunnel written the plainest way in Node (reference: what the runtime alone costs;
//                 full runs, or --paths)
//   node-tls-worker  node-tls with its TLS sockets in a worker thread (what a second thread on the data path
//                 gains; only with --paths, docs/adr/0008-data-threads.md)
// UDP (iperf3 -u) goes over direct and the caravan paths only: stunnel and node-tls carry TCP alone.
import type { Servers } from './servers.js';

export const PATH_NAMES = [
  'direct',
  'caravan-1hop',
  'caravan-2hop',
  'stunnel',
  'node-tls',
  'node-tls-worker',
] as const;
/** Paths measured only when --paths names them. */
export const ON_REQUEST: readonly PathName[] = ['node-tls-worker'];
export type PathName = (typeof PATH_NAMES)[number];

/** A process that carries a path's traffic (a router or a stunnel). */
export interface PathProcess {
  role: string;
  pid: number;
}

export interface BenchPath {
  name: PathName;
  /** Where clients connect for each service. */
  redisPort: number;
  iperfPort: number;
  /**
   * Where iperf3 -u sends its datagrams: the same port number as iperfPort (iperf3 uses one port for its TCP
   * control connection and its UDP data). Absent: the path carries no UDP (stunnel, node-tls, node-tls-worker).
   */
  udpPort?: number;
  /** Processes in the path (none for direct). */
  procs: PathProcess[];
  /** Stops the path's processes (the servers stay). */
  stop(): Promise<void>;
}

export function directPath(servers: Servers): BenchPath {
  return {
    name: 'direct',
    redisPort: servers.redisPort,
    iperfPort: servers.iperfPort,
    udpPort: servers.iperfPort,
    procs: [],
    stop: () => Promise.resolve(),
  };
}

export function pathPids(p: BenchPath): number[] {
  return p.procs.map((x) => x.pid);
}
