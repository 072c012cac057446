/**
 * Structured logging: one line per event, `key=value` pairs after a fixed prefix, or JSON lines.
 * Every line names its subsystem and, where there is one, the entity id (link id, flow id, ...).
 * Library code logs through a Logger handed to it; it never writes to the console itself.
 */
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
