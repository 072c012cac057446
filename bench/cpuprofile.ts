// Summarises a V8 .cpuprofile (written by `node --cpu-prof`): self time per function and per category.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by category: idle, gc, program (native code outside JS, e.g. TLS and syscalls), node, caravan… */
  categories: Record<string, number>;
  top: Array<{ name: string; ms: number; share: number }>;
}

function category(n: ProfileNode): string {
  const { functionName: f, url } = n.callFrame;
  if (f === '(idle)') return 'idle';
  if (f === '(garbage collector)') return 'gc';
  if (f === '(program)') return 'program (native: TLS, syscalls, libuv)';
  if (url.includes('/dist') && url.includes('/src/')) return 'caravan JS';
  if (url.startsWith('node:')) return 'node core JS';
  if (url === '') return 'native builtins';
  return 'other JS';
}

function shortUrl(url: string): string {
  const i = url.indexOf('/src/');
  if (i >= 0) return url.slice(i + 1);
  return url.replace(/^file:\/\//, '');
}

export function summariseProfile(file: string, topN = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const totalMs = (p.endTime - p.startTime) / 1000;
  const hits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
  const msPerHit = hits > 0 ? totalMs / hits : 0;
  const categories: Record<string, number> = {};
  const byFn = new Map<string, number>();
  for (const n of p.nodes) {
    const ms = (n.hitCount ?? 0) * msPerHit;
    if (ms === 0) continue;
    const c = category(n);
    categories[c] = (categories[c] ?? 0) + ms;
    const { functionName, url, lineNumber } = n.callFrame;
    const name = url ? `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}` : functionName;
    byFn.set(name, (byFn.get(name) ?? 0) + ms);
  }
  const busy = totalMs - (categories.idle ?? 0);
  const top = [...byFn]
    .filter(([name]) => name !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([name, ms]) => ({ name, ms, share: busy > 0 ? ms / busy : 0 }));
  return { totalMs, categories, top };
}
