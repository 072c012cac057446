/**
 * Watches the routers of the soak: every router runs under its supervisor, and a router the injector did not
 * kill must never be restarted (the supervisor's record counts restarts); RSS and open file descriptors of each
 * router process are sampled from /proc.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { readSupervisorRecord } from '../../src/site/supervision.js';
import { SITES, type SiteName, type SoakNetwork } from './topology.js';

export interface Sample {
  t: number;
  pid: number;
  rssMb: number;
  fds: number;
}

export interface Death {
  site: SiteName;
  at: number;
  cause: string;
}

function procSample(pid: number): { rssMb: number; fds: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    return Number.isFinite(kb) ? { rssMb: kb / 1024, fds } : undefined;
  } catch {
    return undefined; // between a kill and the restart
  }
}

export class RouterMonitor {
  readonly samples = new Map<SiteName, Sample[]>(SITES.map((s) => [s, []]));
  readonly unexpected: Death[] = [];
  /** restarts the supervisor of each site may have made: its count when it started plus the kills since */
  private readonly allowed = new Map<SiteName, number>();
  private readonly generation = new Map<SiteName, number>();
  /** sites whose supervisor exited without being stopped (reported once) */
  private readonly gone = new Set<SiteName>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly net: SoakNetwork) {}

  /** Takes the supervisors' current restart counts as the allowed ones (call once the network runs). */
  async baseline(): Promise<void> {
    for (const site of SITES) await this.rebase(site);
  }

  /** A new supervisor was started for `site`: its count so far is allowed. */
  async rebase(site: SiteName): Promise<void> {
    const st = this.net.sites.get(site);
    const rec = st ? await readSupervisorRecord(st.site.dir) : undefined;
    this.allowed.set(site, rec?.restarts ?? 0);
    this.generation.set(site, st?.generation ?? 0);
  }

  /** The injector killed the router of `site`: one more restart is expected. */
  killed(site: SiteName): void {
    this.allowed.set(site, (this.allowed.get(site) ?? 0) + 1);
  }

  start(intervalMs = 2000): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = Date.now();
      for (const site of SITES) {
        const st = this.net.sites.get(site);
        if (!st || st.stopping || this.gone.has(site) || this.generation.get(site) !== st.generation)
          continue;
        if (!st.supervisor.running) {
          this.unexpected.push({
            site,
            at: now,
            cause: `supervisor exited (${JSON.stringify(st.supervisor.exitInfo)})`,
          });
          this.gone.add(site);
          continue;
        }
        const rec = await readSupervisorRecord(st.site.dir);
        if (!rec) continue;
        const allowed = this.allowed.get(site) ?? 0;
        if (rec.restarts > allowed) {
          this.unexpected.push({ site, at: now, cause: rec.lastExit?.cause ?? 'unknown' });
          this.allowed.set(site, rec.restarts);
        }
        if (rec.phase === 'running' && rec.childPid !== undefined) {
          const s = procSample(rec.childPid);
          if (s) this.samples.get(site)?.push({ t: now, pid: rec.childPid, ...s });
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /** The latest sample of `site`'s router taken now (not stored). */
  async now(site: SiteName): Promise<Sample | undefined> {
    const pid = await this.net.routerPid(site);
    if (pid === undefined) return undefined;
    const s = procSample(pid);
    return s ? { t: Date.now(), pid, ...s } : undefined;
  }
}
