// Process helpers for integration and e2e tests: one-shot commands with a timeout, long-running children whose
// output is captured (in memory and in a log file under <repo>/test-output/), and a registry that makes sure no
// child outlives the test process — on explicit cleanup, in a node:test `after()` hook, on exit and on signals.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

// ---------------------------------------------------------------------------------------------------------------
// Paths

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown };
        if (parsed.name === 'caravan') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** Root of the repository (the directory holding caravan's package.json). */
export const repoRoot: string = findRepoRoot();

/** `<repo>/test-output/<...parts>`, created if missing. */
export function testOutputDir(...parts: string[]): string {
  const dir = resolve(repoRoot, 'test-output', ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

// ---------------------------------------------------------------------------------------------------------------
// Cleanup registry

export interface CleanupHook {
  /** Best-effort asynchronous cleanup (used by explicit cleanup and the node:test `after()` hook). */
  async?: () => Promise<void>;
  /** Synchronous cleanup (used on `exit` and on signals, where nothing asynchronous can run). */
  sync?: () => void;
}

const cleanupHooks = new Set<CleanupHook>();
const liveProcs = new Set<ManagedProcess>();
const liveRuns = new Set<ChildProcess>();
let handlersInstalled = false;

/** Registers a cleanup hook; returns a function that unregisters it. Hooks run newest first. */
export function registerCleanup(hook: CleanupHook): () => void {
  installHandlers();
  cleanupHooks.add(hook);
  return () => {
    cleanupHooks.delete(hook);
  };
}

/** Runs every registered asynchronous cleanup hook, then stops every live managed process. */
export async function cleanupAll(graceMs = 2000): Promise<void> {
  const errors: unknown[] = [];
  for (const hook of [...cleanupHooks].reverse()) {
    try {
      if (hook.async) await hook.async();
      else hook.sync?.();
    } catch (err) {
      errors.push(err);
    }
  }
  await stopAllProcesses(graceMs);
  if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
}

/** Synchronous variant of {@link cleanupAll}: SIGKILLs everything. Safe to call from an `exit` handler. */
export function cleanupAllSync(): void {
  for (const hook of [...cleanupHooks].reverse()) {
    try {
      hook.sync?.();
    } catch {
      // best effort: the process is going away
    }
  }
  killAllProcessesSync('SIGKILL');
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    cleanupAllSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      cleanupAllSync();
      // If nobody else handles the signal, restore the default action and re-raise it so the process still dies.
      if (process.listenerCount(sig) <= 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

function runningUnderNodeTest(): boolean {
  return (
    process.env.NODE_TEST_CONTEXT !== undefined ||
    process.execArgv.some((a) => a === '--test' || a.startsWith('--test-')) ||
    /\.test\.[cm]?js$/.test(process.argv[1] ?? '')
  );
}

installHandlers();
// In a node:test file, clean up after all the file's tests at the latest (a root-level hook; idempotent cleanups).
if (runningUnderNodeTest()) {
  after(async () => {
    await cleanupAll();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// run / runOk

export interface RunOptions {
  /** Kill the command (SIGKILL) and reject after this many milliseconds (default 30000). */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. Without it stdin is empty. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult {
  /** Exit code, or null if the command was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function formatCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args]
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** Runs a command to completion and resolves with its exit status and output. Rejects on spawn failure or timeout. */
export function run(cmd: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise<RunResult>((resolvePromise, reject) => {
    const child = spawn(cmd, [...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    liveRuns.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.stderr.on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => undefined); // EPIPE if the command does not read its input
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      liveRuns.delete(child);
      reject(new Error(`failed to run ${formatCommand(cmd, args)}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      liveRuns.delete(child);
      if (timedOut) {
        const err = new Error(
          `timed out after ${timeoutMs}ms running ${formatCommand(cmd, args)}` +
            (stderr ? `\nstderr: ${stderr.trim()}` : ''),
        ) as Error & { stdout?: string; stderr?: string };
        err.stdout = stdout;
        err.stderr = stderr;
        reject(err);
        return;
      }
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** Like {@link run} but rejects (with the command's stderr) unless it exits with code 0. */
export async function runOk(
  cmd: string,
  args: readonly string[] = [],
  opts: RunOptions = {},
): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const status = r.code === null ? `signal ${r.signal ?? '?'}` : `code ${r.code}`;
    const detail = (r.stderr.trim() || r.stdout.trim()).slice(-4000);
    throw new Error(`${formatCommand(cmd, args)} failed with ${status}${detail ? `: ${detail}` : ''}`);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// ManagedProcess

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: Error;
}

export interface ManagedProcessOptions {
  /** Short name used in the log file name and in error messages (default: basename of the command). */
  label?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Directory for the log file (default `<repo>/test-output/proc`). */
  logDir?: string;
  /** Bytes of output kept in memory (default 1 MiB); the log file always has everything. */
  ringBytes?: number;
  /** 'pipe' keeps stdin open as `proc.child.stdin` (default 'ignore'). */
  stdin?: 'ignore' | 'pipe';
}

export interface WaitForOutputOptions {
  timeoutMs?: number;
  /** Which stream to search (default 'any': stdout and stderr, each on its own). */
  stream?: 'stdout' | 'stderr' | 'any';
}

interface Chunk {
  stream: 'stdout' | 'stderr';
  text: string;
}

let procCounter = 0;

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60) || 'proc';
}

/**
 * A long-running child process whose output is captured. Every instance is registered until it exits, so
 * {@link stopAllProcesses} / exit handlers can kill it.
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly label: string;
  readonly command: string;
  readonly logPath: string;
  /** Resolves (never rejects) once the process has exited and its output has been read. */
  readonly exited: Promise<ExitInfo>;
  private info: ExitInfo | undefined;
  private readonly chunks: Chunk[] = [];
  private ringSize = 0;
  private readonly ringBytes: number;
  private readonly log: WriteStream;
  private readonly listeners = new Set<() => void>();
  private truncated = false;

  constructor(cmd: string, args: readonly string[], opts: ManagedProcessOptions = {}) {
    this.label = opts.label ?? basename(cmd);
    this.command = formatCommand(cmd, args);
    this.ringBytes = opts.ringBytes ?? 1024 * 1024;
    const logDir = opts.logDir ?? testOutputDir('proc');
    mkdirSync(logDir, { recursive: true });
    const spawnOpts: SpawnOptions = {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
    };
    this.child = spawn(cmd, [...args], spawnOpts);
    const id = this.child.pid ?? `nopid${++procCounter}`;
    this.logPath = join(logDir, `${sanitize(this.label)}-${id}.log`);
    this.log = createWriteStream(this.logPath, { flags: 'a' });
    this.log.on('error', () => undefined);
    this.log.write(`# ${new Date().toISOString()} pid ${this.child.pid ?? '-'}: ${this.command}\n`);
    liveProcs.add(this);

    this.child.stdout?.setEncoding('utf8');
    this.child.stderr?.setEncoding('utf8');
    this.child.stdout?.on('data', (d: string) => this.onData('stdout', d));
    this.child.stderr?.on('data', (d: string) => this.onData('stderr', d));

    this.exited = new Promise<ExitInfo>((resolveExit) => {
      let exitSeen: ExitInfo | undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      const finish = (info: ExitInfo): void => {
        if (this.info) return;
        if (graceTimer) clearTimeout(graceTimer);
        this.info = info;
        liveProcs.delete(this);
        const how = info.error
          ? `failed to start: ${info.error.message}`
          : info.signal
            ? `killed by ${info.signal}`
            : `exited with code ${info.code}`;
        this.log.end(`\n# ${new Date().toISOString()} ${how}\n`);
        resolveExit(info);
        this.notify();
      };
      this.child.on('error', (err) => {
        // Spawn failure (no 'exit' follows) or a failed kill(); only the former ends the process.
        if (this.child.pid === undefined) finish({ code: null, signal: null, error: err });
      });
      this.child.on('exit', (code, signal) => {
        exitSeen = { code, signal };
        // 'close' waits for stdio to drain; a grandchild holding the pipes open must not keep us waiting forever.
        graceTimer = setTimeout(() => finish(exitSeen ?? { code, signal }), 1000);
        graceTimer.unref();
      });
      this.child.on('close', (code, signal) => finish(exitSeen ?? { code, signal }));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Exit status once the process has exited; undefined while it runs. */
  get exitInfo(): ExitInfo | undefined {
    return this.info;
  }

  get running(): boolean {
    return this.info === undefined;
  }

  /** Captured stdout (the most recent `ringBytes` of output overall). */
  get stdout(): string {
    return this.text('stdout');
  }

  get stderr(): string {
    return this.text('stderr');
  }

  /** stdout and stderr interleaved in arrival order. */
  get output(): string {
    return this.text('any');
  }

  /** The last `lines` lines of combined output, for error messages. */
  tail(lines = 30): string {
    const all = this.output.split('\n');
    return all.slice(-lines).join('\n');
  }

  /** Resolves with the first match of `re` in the captured output; rejects on timeout or if the process exits. */
  waitForOutput(re: RegExp, opts: WaitForOutputOptions = {}): Promise<RegExpExecArray> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const stream = opts.stream ?? 'any';
    const search = (): RegExpExecArray | null => {
      const flags = re.flags.replace(/[gy]/g, '');
      const r = new RegExp(re.source, flags);
      if (stream === 'any') return r.exec(this.text('stdout')) ?? r.exec(this.text('stderr'));
      return r.exec(this.text(stream));
    };
    return new Promise<RegExpExecArray>((resolveMatch, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      const check = (): void => {
        const m = search();
        if (m) {
          done();
          resolveMatch(m);
        } else if (this.info) {
          done();
          reject(
            new Error(
              `${this.label} (${this.command}) ended (${describeExit(this.info)}) before printing ${re}; ` +
                `log ${this.logPath}; last output:\n${this.tail()}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `timed out after ${timeoutMs}ms waiting for ${this.label} to print ${re}; log ${this.logPath}; ` +
              `last output:\n${this.tail()}`,
          ),
        );
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** Sends a signal to the process (default SIGTERM). Returns false if it has already exited. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.info || this.child.exitCode !== null || this.child.signalCode !== null) return false;
    try {
      return this.child.kill(signal);
    } catch {
      return false;
    }
  }

  /** Resolves with the exit status; rejects if the process is still running after `timeoutMs`. */
  async waitForExit(timeoutMs = 10_000): Promise<ExitInfo> {
    if (this.info) return this.info;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs}ms waiting for ${this.label} to exit`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then SIGKILL if still running after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 2000): Promise<ExitInfo> {
    if (this.info) return this.info;
    this.kill('SIGTERM');
    try {
      return await this.waitForExit(graceMs);
    } catch {
      this.kill('SIGKILL');
      return await this.exited;
    }
  }

  private text(stream: 'stdout' | 'stderr' | 'any'): string {
    let s = '';
    for (const c of this.chunks) if (stream === 'any' || c.stream === stream) s += c.text;
    return s;
  }

  private onData(stream: 'stdout' | 'stderr', text: string): void {
    this.log.write(text);
    this.chunks.push({ stream, text });
    this.ringSize += text.length;
    while (this.ringSize > this.ringBytes && this.chunks.length > 1) {
      const dropped = this.chunks.shift();
      this.ringSize -= dropped?.text.length ?? 0;
      this.truncated = true;
    }
    this.notify();
  }

  /** True once older output has been dropped from memory (it is still in the log file). */
  get outputTruncated(): boolean {
    return this.truncated;
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}

function describeExit(info: ExitInfo): string {
  if (info.error) return `failed to start: ${info.error.message}`;
  return info.signal ? `signal ${info.signal}` : `code ${info.code}`;
}

/** Starts a {@link ManagedProcess}. */
export function spawnManaged(
  cmd: string,
  args: readonly string[],
  opts: ManagedProcessOptions = {},
): ManagedProcess {
  return new ManagedProcess(cmd, args, opts);
}

/** Managed processes that have not exited yet. */
export function liveProcesses(): ManagedProcess[] {
  return [...liveProcs];
}

/** Stops every live managed process (SIGTERM, SIGKILL after `graceMs`). */
export async function stopAllProcesses(graceMs = 2000): Promise<void> {
  await Promise.all([...liveProcs].map((p) => p.stop(graceMs)));
  for (const c of liveRuns) c.kill('SIGKILL');
}

/** Sends `signal` (default SIGKILL) to every live managed process and running `run()` command, synchronously. */
export function killAllProcessesSync(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const p of liveProcs) p.kill(signal);
  for (const c of liveRuns) {
    try {
      c.kill(signal);
    } catch {
      // already gone
    }
  }
}
