/**
 * CLI output: human tables by default, `-o json` / `-o yaml` for machines. Colour only on a TTY and never with
 * NO_COLOR or --no-color.
 *
 * Much of what the CLI prints comes from other sites (router ids, site names, keys, versions, error texts), so
 * nothing reaches the terminal raw: every human line is escaped (src/names.ts escapeForTerminal), and the CLI's
 * own colours are written as markers carrying a per-process random nonce that text from elsewhere cannot
 * contain; only those markers become escape sequences. JSON output escapes C1 and bidi controls as `\uXXXX`;
 * YAML output shows them as visible escapes.
 */
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { escapeForTerminal } from '../names.js';
import type { OutputFormat } from './output-format.js';

export interface Writer {
  write(text: string): void;
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39] } as const;
export type StyleName = keyof typeof CODES;

const NONCE = randomBytes(8).toString('hex');
const MARK_RE = new RegExp(`\uE000${NONCE}:(\\d+)\uE001`, 'g');
const mark = (code: number): string => `\uE000${NONCE}:${code}\uE001`;

/** Human text for a terminal: foreign control characters made visible, the CLI's own colour markers applied. */
export function toTerminal(text: string): string {
  return escapeForTerminal(text, { keepLineBreaks: true }).replace(MARK_RE, '\u001b[$1m');
}

const JSON_UNSAFE = /[\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** JSON text with C1, bidi and zero-width characters as `\uXXXX` escapes (the same data, safe to cat). */
export function safeJson(data: unknown): string {
  return JSON.stringify(data, null, 2).replace(
    JSON_UNSAFE,
    (c) => `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`,
  );
}

function escapeStrings(v: unknown): unknown {
  if (typeof v === 'string') return escapeForTerminal(v, { keepLineBreaks: true });
  if (Array.isArray(v)) return v.map(escapeStrings);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [escapeForTerminal(k), escapeStrings(x)]));
  }
  return v;
}

export class Output {
  readonly stdout: Writer;
  readonly stderr: Writer;
  constructor(
    private readonly rawStdout: Writer,
    rawStderr: Writer,
    readonly format: OutputFormat,
    readonly color: boolean,
  ) {
    this.stdout = { write: (t) => rawStdout.write(toTerminal(t)) };
    this.stderr = { write: (t) => rawStderr.write(toTerminal(t)) };
  }

  style(name: StyleName, text: string): string {
    if (!this.color || text === '') return text;
    const [a, b] = CODES[name];
    return `${mark(a)}${text}${mark(b)}`;
  }

  /** Colours a state word: green for good, red for bad, yellow for in-between. */
  state(text: string): string {
    if (/^(up|yes|running|true|healthy|matched)$/i.test(text)) return this.style('green', text);
    if (/^(down|no|stopped|false|unhealthy|error|failed|revoked)$/i.test(text))
      return this.style('red', text);
    if (/^(connecting|handshaking|starting|unknown|-)$/i.test(text)) return this.style('yellow', text);
    return text;
  }

  line(text = ''): void {
    this.stdout.write(text + '\n');
  }

  /** A line on stderr (progress and hints that must not pollute -o json/yaml output). */
  note(text: string): void {
    this.stderr.write(text + '\n');
  }

  /** Prints `data` as JSON or YAML, or calls `human` for the table format. */
  emit(data: unknown, human: () => void): void {
    if (this.format === 'json') this.rawStdout.write(safeJson(data) + '\n');
    else if (this.format === 'yaml') this.rawStdout.write(stringify(escapeStrings(data), { lineWidth: 0 }));
    else human();
  }

  /** Renders a table; `empty` is printed when there are no rows. */
  table(headers: string[], rows: string[][], empty?: string): void {
    if (rows.length === 0) {
      if (empty) this.line(empty);
      return;
    }
    this.stdout.write(renderTable(headers, rows, (h) => this.style('bold', h)));
  }
}

const ANSI_RE = /\u001b\[[0-9;]*m/g;

/** Visible width of a string (colour markers and ANSI colour codes excluded). */
export function visibleWidth(s: string): number {
  return s.replace(MARK_RE, '').replace(ANSI_RE, '').length;
}

/** Columns separated by two spaces, padded to the widest cell; no trailing spaces. */
export function renderTable(
  headers: string[],
  rows: string[][],
  styleHeader: (h: string) => string = (h) => h,
): string {
  // cells are escaped before they are measured: a control character from a peer is shown as \xNN, whole
  rows = rows.map((r) => r.map((c) => escapeForTerminal(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleWidth(r[i] ?? ''))));
  const fmt = (cells: string[], header: boolean): string =>
    cells
      .map((c, i) => {
        const last = i === cells.length - 1;
        const pad = last ? '' : ' '.repeat((widths[i] ?? 0) - visibleWidth(c));
        return (header ? styleHeader(c) : c) + pad;
      })
      .join('  ')
      .trimEnd();
  return (
    [
      fmt(headers, true),
      ...rows.map((r) =>
        fmt(
          headers.map((_, i) => r[i] ?? ''),
          false,
        ),
      ),
    ].join('\n') + '\n'
  );
}

/** Renders `key: value` pairs aligned. */
export function renderPairs(pairs: Array<[string, string]>): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ':').padEnd(w + 1)}  ${escapeForTerminal(v)}`).join('\n') + '\n';
}

/** `1h 2m`, `35s`: a short human duration. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? ` ${s % 60}s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? ` ${m % 60}m` : ''}`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
