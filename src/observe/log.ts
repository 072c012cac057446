/**
 * Structured logging: one line per event, `key=value` pairs after a fixed prefix, or JSON lines.
 * Every line names its subsystem and, where there is one, the entity id (link id, flow id, ...).
 * Library code logs through a Logger handed to it; it never writes to the console itself.
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogSink {
  write(line: string): void;
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger for a subsystem or entity; fields are added to every line. */
  child(fields: LogFields): Logger;
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: 'text' | 'json';
  sinks?: LogSink[];
  now?: () => Date;
}

export function parseLogLevel(v: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  if (v === undefined || v === '') return fallback;
  if (v in LEVELS) return v as LogLevel;
  throw new RangeError(`invalid log level '${v}' (expected debug, info, warn or error)`);
}

function fmtValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === 'string') return /^[\w.:/@+-]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return JSON.stringify(v);
}

class StructuredLogger implements Logger {
  constructor(
    private readonly opts: Required<LoggerOptions>,
    private readonly base: LogFields,
  ) {}

  enabled(level: LogLevel): boolean {
    return LEVELS[level] >= LEVELS[this.opts.level];
  }

  child(fields: LogFields): Logger {
    return new StructuredLogger(this.opts, { ...this.base, ...fields });
  }

  private emit(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const all = fields ? { ...this.base, ...fields } : this.base;
    let line: string;
    if (this.opts.format === 'json') {
      const rec: LogFields = { ts: this.opts.now().toISOString(), level, msg };
      for (const [k, v] of Object.entries(all)) rec[k] = v instanceof Error ? v.message : v;
      line = JSON.stringify(rec);
    } else {
      let s = `${this.opts.now().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}`;
      for (const [k, v] of Object.entries(all)) if (v !== undefined) s += ` ${k}=${fmtValue(v)}`;
      line = s;
    }
    for (const sink of this.opts.sinks) sink.write(line + '\n');
  }

  debug(msg: string, fields?: LogFields): void {
    this.emit('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.emit('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.emit('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.emit('error', msg, fields);
  }
}

export function createLogger(opts: LoggerOptions = {}, fields: LogFields = {}): Logger {
  return new StructuredLogger(
    {
      level: opts.level ?? 'info',
      format: opts.format ?? 'text',
      sinks: opts.sinks ?? [{ write: (l) => process.stderr.write(l) }],
      now: opts.now ?? (() => new Date()),
    },
    fields,
  );
}

/** A logger that drops everything (tests, benchmarks). */
export const nullLogger: Logger = createLogger({ level: 'error', sinks: [] });

/** A logger that keeps lines in memory (tests assert on them). */
export function memoryLogger(level: LogLevel = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = [];
  const l = createLogger({ level, sinks: [{ write: (s) => lines.push(s.trimEnd()) }] });
  return Object.assign(l, { lines });
}

export interface FileSinkOptions {
  /** rotate when the file would grow past this many bytes (default 10 MiB) */
  maxBytes?: number;
  /** rotated files kept: `router.log.1` (newest) … `router.log.N` (default 3) */
  keep?: number;
}

/**
 * A sink appending to a log file (created 0600 with its directory), rotated by size: `f` → `f.1` → … → `f.keep`.
 * Writes are synchronous so that the last lines before a crash are on disk; a write failure disables the sink
 * instead of breaking the logger (stderr still gets every line).
 */
export function rotatingFileSink(path: string, opts: FileSinkOptions = {}): LogSink & { close(): void } {
  const maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
  const keep = Math.max(0, opts.keep ?? 3);
  let fd: number | undefined;
  let size = 0;
  let broken = false;
  const open = (): void => {
    try {
      mkdirSync(dirname(path), { mode: 0o700 }); // logs/ only: the site directory itself must exist
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    fd = openSync(path, 'a', 0o600);
    try {
      size = statSync(path).size;
    } catch {
      size = 0;
    }
  };
  const rotate = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    if (keep === 0) rmSync(path, { force: true });
    else {
      rmSync(`${path}.${keep}`, { force: true });
      for (let i = keep - 1; i >= 1; i--) {
        try {
          renameSync(`${path}.${i}`, `${path}.${i + 1}`);
        } catch {
          // that generation does not exist yet
        }
      }
      renameSync(path, `${path}.1`);
    }
    open();
  };
  return {
    write(line: string): void {
      if (broken) return;
      try {
        if (fd === undefined) open();
        const buf = Buffer.from(line, 'utf8');
        if (size > 0 && size + buf.length > maxBytes) rotate();
        writeSync(fd as number, buf);
        size += buf.length;
      } catch (e) {
        broken = true;
        process.stderr.write(`log file ${path} disabled: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    },
    close(): void {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
