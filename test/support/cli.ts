/** Runs the `caravan` CLI in-process (src/cli/main.ts `run`) with captured output, for unit tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  isTTY?: boolean;
  cwd?: string;
  stdin?: string;
}

export async function cli(argv: string[], opts: CliOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: { write: (t) => void (stdout += t) },
    stderr: { write: (t) => void (stderr += t) },
    env: { PATH: process.env.PATH, ...(opts.env ?? {}) },
    isTTY: opts.isTTY ?? false,
    cwd: opts.cwd ?? process.cwd(),
    readStdin: async () => opts.stdin ?? '',
  });
  return { code, stdout, stderr };
}

/** A temporary Caravan home removed after the test; `cli` bound to it. */
export async function tempHome(t: { after: (fn: () => Promise<void>) => void }): Promise<{
  home: string;
  run: (argv: string[], opts?: CliOptions) => Promise<CliResult>;
}> {
  const home = await mkdtemp(join(tmpdir(), 'caravan-cli-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  return {
    home,
    run: (argv, opts = {}) =>
      cli(argv, { ...opts, cwd: opts.cwd ?? home, env: { CARAVAN_HOME: home, ...(opts.env ?? {}) } }),
  };
}
