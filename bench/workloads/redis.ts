// redis-benchmark: request rate and latency percentiles for one test at one concurrency, and new connections
// per second with keepalive off (-k 0: every request opens a connection, runs one command and closes it).
import { runOk } from '../../test/support/proc.js';
import { HOST } from '../ports.js';

export type RedisTest = 'PING_INLINE' | 'GET' | 'SET';

export interface RedisSpec {
  test: RedisTest;
  clients: number;
  requests: number;
  /** false: a new connection per request (-k 0). */
  keepalive?: boolean;
}

export interface RedisResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  avgMs: number;
  maxMs: number;
}

export function redisLabel(s: Pick<RedisSpec, 'test' | 'clients'>): string {
  return `redis ${s.test} -c ${s.clients}`;
}

function parseCsv(out: string): Map<string, Record<string, string>> {
  const rows = out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('"'))
    .map((l) => l.split(',').map((c) => c.replace(/^"|"$/g, '')));
  const header = rows.shift();
  if (!header || header[0] !== 'test')
    throw new Error(`redis-benchmark: unexpected output: ${out.slice(0, 300)}`);
  const byTest = new Map<string, Record<string, string>>();
  for (const row of rows) {
    const rec: Record<string, string> = {};
    header.forEach((h, i) => (rec[h] = row[i] ?? ''));
    byTest.set(rec.test ?? '', rec);
  }
  return byTest;
}

export async function runRedis(redisBenchmark: string, port: number, spec: RedisSpec): Promise<RedisResult> {
  const args = ['-h', HOST, '-p', String(port), '-c', String(spec.clients), '-n', String(spec.requests)];
  args.push('-t', spec.test.toLowerCase(), '--csv');
  if (spec.keepalive === false) args.push('-k', '0');
  const r = await runOk(redisBenchmark, args, { timeoutMs: 180_000 });
  const rec = parseCsv(r.stdout).get(spec.test);
  if (!rec) throw new Error(`redis-benchmark: no ${spec.test} row in: ${r.stdout.slice(0, 300)}`);
  const num = (k: string): number => Number(rec[k]);
  const res = {
    rps: num('rps'),
    p50Ms: num('p50_latency_ms'),
    p99Ms: num('p99_latency_ms'),
    avgMs: num('avg_latency_ms'),
    maxMs: num('max_latency_ms'),
  };
  if (!Number.isFinite(res.rps) || res.rps <= 0) throw new Error(`redis-benchmark: bad rate in ${r.stdout}`);
  return res;
}
