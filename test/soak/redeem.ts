/**
 * Token redemptions during the faults: at random times a hub issues an access token (`caravan token issue`, run in
 * the hub's namespace) and the spare site redeems it (`caravan token redeem`, in the spare's namespace), across
 * whatever fault holds at the time. The spare is an edge site (never transit) with one wire to each hub, so its
 * links never change the paths the traffic takes; each link it gets is deleted again before the next redemption.
 *
 * Outcomes: `ok` (the link came up; `late` when it came up only after the command's own wait), `failed` with a
 * clear error (exit code not 0 and one `error: …` line) and nothing written at the spare. Hard failures: a
 * command that did not finish within its timeout (`hung`), a failure without a clear error (`unclear`), a
 * failure that left a Link resource or link certificates behind, or a success without them (`half`), and a link
 * that never came up (`never-up`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, type RunResult } from '../support/proc.js';
import { waitFor } from '../support/wait.js';
import type { Rng } from './prng.js';
import type { SoakNetwork } from './topology.js';

const CARAVAN = join(repoRoot, 'bin', 'caravan.js');
/** the redeem command waits this long for the link to come up */
const WAIT_S = 10;
/** a CLI command taking longer than this has hung */
const COMMAND_TIMEOUT_MS = 45_000;
/** a link created but not up within the wait must come up within this long after it */
const LATE_UP_MS = 60_000;

export type RedemptionOutcome = 'ok' | 'late' | 'failed' | 'hung' | 'unclear' | 'half' | 'never-up';
export const HARD_REDEMPTION_OUTCOMES: RedemptionOutcome[] = ['hung', 'unclear', 'half', 'never-up'];

export interface Redemption {
  n: number;
  at: number;
  hub: 'hub-a' | 'hub-b';
  /** which command ended it: issue, redeem or the wait for the link */
  stage: 'issue' | 'redeem' | 'link';
  outcome: RedemptionOutcome;
  ms: number;
  detail: string;
}

function clearError(r: RunResult): string | undefined {
  const lines = r.stderr.trim().split('\n');
  return r.code !== null && r.code !== 0 && lines.length === 1 && /^error: \S/.test(lines[0] as string)
    ? (lines[0] as string)
    : undefined;
}

export class Redeemer {
  private n = 0;
  readonly done: Redemption[] = [];

  constructor(
    private readonly net: SoakNetwork,
    private readonly log: (s: string) => void,
  ) {}

  private cli(host: 'hub-a' | 'hub-b' | 'spare', site: string, args: string[]): Promise<RunResult> {
    return this.net.lab
      .exec(
        this.net.lab.host(host),
        process.execPath,
        [CARAVAN, '--home', this.net.root, '--site', site, '--no-color', ...args],
        { timeoutMs: COMMAND_TIMEOUT_MS, cwd: this.net.root },
      )
      .catch((e: Error): RunResult => ({
        code: null,
        signal: 'SIGKILL',
        stdout: '',
        stderr: `hung: ${e.message}`,
      }));
  }

  private linkFiles(name: string): { resource: boolean; certs: boolean } {
    const dir = this.net.spare.site.dir;
    return {
      resource: existsSync(join(dir, 'resources', `link-${name}.yaml`)),
      certs: existsSync(join(dir, 'runtime', 'links', name)),
    };
  }

  /** One issue + redeem + (link up) + delete; resolves with the outcome, never rejects. */
  async once(rng: Rng): Promise<Redemption> {
    const n = ++this.n;
    const hub = rng.pick(['hub-a', 'hub-b'] as const);
    const name = `r${n}`;
    const file = join(this.net.root, `${name}.token`);
    const at = Date.now();
    const end = (stage: Redemption['stage'], outcome: RedemptionOutcome, detail: string): Redemption => {
      const r: Redemption = { n, at, hub, stage, outcome, ms: Date.now() - at, detail };
      this.done.push(r);
      this.log(`redemption ${n} at ${hub}: ${outcome} (${stage}, ${r.ms} ms) ${detail}`);
      return r;
    };
    const issued = await this.cli(hub, hub, [
      'token',
      'issue',
      file,
      '--host',
      this.net.spareWire(hub).aAddr,
      '--expiry',
      '10m',
    ]);
    if (issued.code === null) return end('issue', 'hung', issued.stderr.trim());
    if (issued.code !== 0) {
      const e = clearError(issued);
      return end('issue', e ? 'failed' : 'unclear', e ?? `exit ${issued.code}: ${issued.stderr.trim()}`);
    }
    const redeemed = await this.cli('spare', 'spare', [
      'token',
      'redeem',
      file,
      '--name',
      name,
      '--wait',
      String(WAIT_S),
      '-o',
      'json',
    ]);
    const files = this.linkFiles(name);
    if (redeemed.code === null) return end('redeem', 'hung', redeemed.stderr.trim());
    if (redeemed.code !== 0) {
      const e = clearError(redeemed);
      if (files.resource || files.certs)
        return end(
          'redeem',
          'half',
          `failed (${e ?? redeemed.stderr.trim()}) but left ${JSON.stringify(files)}`,
        );
      return end('redeem', e ? 'failed' : 'unclear', e ?? `exit ${redeemed.code}: ${redeemed.stderr.trim()}`);
    }
    if (!files.resource || !files.certs)
      return end('redeem', 'half', `exit 0 but the spare holds ${JSON.stringify(files)}`);
    let state: string | undefined;
    try {
      state = (JSON.parse(redeemed.stdout) as { state?: string }).state;
    } catch {
      return end('redeem', 'unclear', `exit 0 without JSON: ${redeemed.stdout.slice(0, 200)}`);
    }
    let outcome: RedemptionOutcome = 'ok';
    if (state !== 'up') {
      const up = await waitFor(
        async () => {
          const st = await this.net.spare.site.status().catch(() => undefined);
          return st?.links.some((l) => l.name === name && l.state === 'up') === true;
        },
        { what: `link ${name} up`, timeoutMs: LATE_UP_MS, intervalMs: 250 },
      ).then(
        () => true,
        () => false,
      );
      outcome = up ? 'late' : 'never-up';
    }
    const deleted = await this.cli('spare', 'spare', ['link', 'delete', name]);
    if (deleted.code !== 0)
      return end('link', 'unclear', `link delete ${name}: exit ${deleted.code} ${deleted.stderr.trim()}`);
    return end(outcome === 'ok' ? 'redeem' : 'link', outcome, state === 'up' ? 'link up' : `state ${state}`);
  }
}
