/**
 * CLI output: human tables by default, `-o json` / `-o yaml` for machines. Colour only on a TTY and never with
 * NO_COLOR or --no-color.
 */
import { stringify } from 'yaml';
import type { OutputFormat } from './command.js';

export interface Writer {
  write(text: string): void;
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39] } as const;
export type StyleName = keyof typeof CODES;

export class Output {
  constructor(
    readonly stdout: Writer,
    readonly stderr: Writer,
    readonly format: OutputFormat,
    readonly color: boolean,
  ) {}

  style(name: StyleName, text: string): string {
    if (!this.color || text === '') return text;
    const [a, b] = CODES[name];
    return `\u001b[${a}m${text}\u001b[${b}m`;
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
    if (this.format === 'json') this.stdout.write(JSON.stringify(data, null, 2) + '\n');
    else if (this.format === 'yaml') this.stdout.write(stringify(data, { lineWidth: 0 }));
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

/** Visible width of a string (ANSI colour codes excluded). */
export function visibleWidth(s: string): number {
  return s.replace(ANSI_RE, '').length;
}

/** Columns separated by two spaces, padded to the widest cell; no trailing spaces. */
export function renderTable(
  headers: string[],
  rows: string[][],
  styleHeader: (h: string) => string = (h) => h,
): string {
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
  return pairs.map(([k, v]) => `${(k + ':').padEnd(w + 1)}  ${v}`).join('\n') + '\n';
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
