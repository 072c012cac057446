// Builds another commit for `--compare`: its tree exported with `git archive` into a temporary directory (the
// repository itself is not changed: no worktree is registered, nothing is checked out), node_modules shared with
// this checkout when both lockfiles are the same (else `npm ci` there), compiled with its own tsc. A build is
// cached by commit id, so comparing against the same commit again starts at once.
import { spawn } from 'node:child_process';
import {
  existsSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, runOk } from '../test/support/proc.js';
import type { Progress } from './interleave.js';

export interface OtherBuild {
  ref: string;
  commit: string;
  /** One line: short commit id and subject. */
  title: string;
  dir: string;
  routerMain: string;
  /** That build's ROUTER_NODE_FLAGS (older commits without the list: none). */
  routerFlags: readonly string[];
  /** 'cached', 'shared node_modules' or 'npm ci' */
  how: string;
}

const MARKER = '.bench-build-done';

function shorten(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

async function git(args: string[]): Promise<string> {
  return (await runOk('git', ['-C', repoRoot, ...args], { timeoutMs: 60_000 })).stdout.trim();
}

/** `git archive <commit> | tar -x -C <dir>` */
function exportTree(commit: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const archive = spawn('git', ['-C', repoRoot, 'archive', '--format=tar', commit], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tar = spawn('tar', ['-x', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
    archive.stdout.pipe(tar.stdin);
    let err = '';
    archive.stderr.on('data', (d: Buffer) => (err += d.toString()));
    tar.stderr.on('data', (d: Buffer) => (err += d.toString()));
    let pending = 2;
    let failed = false;
    const done = (what: string) => (code: number | null) => {
      if (code !== 0 && !failed) {
        failed = true;
        reject(new Error(`${what} failed with code ${code}: ${err.trim()}`));
      }
      if (--pending === 0 && !failed) resolve();
    };
    archive.on('error', reject);
    tar.on('error', reject);
    archive.on('close', done(`git archive ${commit}`));
    tar.on('close', done('tar -x'));
  });
}

async function flagsOf(dir: string): Promise<readonly string[]> {
  const file = join(dir, 'dist', 'src', 'site', 'node-flags.js');
  if (!existsSync(file)) return [];
  const mod = (await import(pathToFileURL(file).href)) as { ROUTER_NODE_FLAGS?: readonly string[] };
  return mod.ROUTER_NODE_FLAGS ?? [];
}

export async function buildOther(ref: string, rebuild: boolean, progress: Progress): Promise<OtherBuild> {
  const commit = await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).catch(() => {
    throw new Error(`--compare: '${ref}' does not name a commit of this repository`);
  });
  const title = shorten(await git(['log', '-1', '--format=%h %s', commit]), 60);
  const dir = join(os.tmpdir(), 'caravan-bench-builds', commit);
  const routerMain = join(dir, 'dist', 'src', 'daemon', 'main.js');
  if (!rebuild && existsSync(join(dir, MARKER)) && existsSync(routerMain)) {
    progress(`compare: using the cached build of ${title} in ${dir}`);
    return { ref, commit, title, dir, routerMain, routerFlags: await flagsOf(dir), how: 'cached' };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  progress(`compare: exporting ${title} to ${dir}…`);
  await exportTree(commit, dir);
  const ours = readFileSync(join(repoRoot, 'package-lock.json'));
  const theirs = existsSync(join(dir, 'package-lock.json'))
    ? readFileSync(join(dir, 'package-lock.json'))
    : undefined;
  let how: string;
  if (theirs !== undefined && ours.equals(theirs) && existsSync(join(repoRoot, 'node_modules'))) {
    symlinkSync(realpathSync(join(repoRoot, 'node_modules')), join(dir, 'node_modules'), 'dir');
    how = 'shared node_modules';
  } else {
    // npm sets npm_execpath for the scripts it runs: the same npm, run by the same node
    const npmCli = process.env.npm_execpath;
    if (!npmCli) {
      throw new Error(
        `--compare: the lockfiles of ${title} and this checkout differ, and npm ci needs npm: ` +
          'run it as `npm run bench -- --compare …`',
      );
    }
    progress('compare: the lockfiles differ: npm ci…');
    await runOk(process.execPath, [npmCli, 'ci', '--no-audit', '--no-fund'], {
      cwd: dir,
      timeoutMs: 900_000,
    });
    how = 'npm ci';
  }
  progress('compare: compiling (tsc)…');
  const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  await runOk(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir, timeoutMs: 900_000 });
  if (!existsSync(routerMain)) throw new Error(`--compare: the build of ${title} has no ${routerMain}`);
  writeFileSync(join(dir, MARKER), `${commit}\n`);
  return { ref, commit, title, dir, routerMain, routerFlags: await flagsOf(dir), how };
}
