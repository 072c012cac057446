/**
 * The command model of the `caravan` CLI: every command (one file under commands/) is a CommandSpec with its
 * name (`site create`), help text, options (node:util parseArgs configs plus help) and a `run` function that
 * receives a Context. Global options (`--home`, `--site`, `-o`, `--debug`, `--no-color`, `--help`) work
 * everywhere.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CaravanError, ErrorCodes } from '../errors.js';
import { OUTPUT_FORMATS, type OutputFormat } from './output-format.js';
import type { Output } from './output.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help (`N`, `FILE`); strings only. */
  value?: string;
  help: string;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface GlobalOptions {
  home?: string;
  site?: string;
  output: OutputFormat;
  debug: boolean;
  color: boolean;
}

export { OUTPUT_FORMATS, type OutputFormat };

/** What a command can reach: its arguments, the environment and the output. */
export interface Context {
  command: CommandSpec;
  args: string[];
  opts: OptionValues;
  global: GlobalOptions;
  /** Whether `-o` was given explicitly (create verbs print the resource instead of applying it). */
  outputExplicit: boolean;
  env: NodeJS.ProcessEnv;
  out: Output;
  /** Standard input (for `apply -f -`). */
  readStdin: () => Promise<string>;
  /** The current directory (relative paths given on the command line). */
  cwd: string;
}

export interface CommandSpec {
  /** `site create`, `status`, ... */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Argument synopsis after the command name: `<name> [options]`. */
  synopsis?: string;
  /** Longer description (plain text, wrapped by the author). */
  description?: string;
  options?: Record<string, OptionSpec>;
  /** Number of positional arguments accepted. */
  args?: { min: number; max: number };
  /** At least one example command line. */
  examples: string[];
  /** Hidden from the top-level list (still runnable). */
  hidden?: boolean;
  run(ctx: Context): Promise<number | void>;
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  home: {
    type: 'string',
    value: 'DIR',
    help: 'where sites live (default $CARAVAN_HOME, else $XDG_DATA_HOME/caravan or ~/.local/share/caravan)',
  },
  site: { type: 'string', value: 'NAME', help: 'the site to act on when there are several ($CARAVAN_SITE)' },
  output: { type: 'string', short: 'o', value: 'FORMAT', help: 'table (default), json or yaml' },
  debug: { type: 'boolean', help: 'show stack traces on errors' },
  'no-color': { type: 'boolean', help: 'never colour the output (also NO_COLOR)' },
  help: { type: 'boolean', short: 'h', help: 'show help for the command' },
};

export function usageError(message: string): CaravanError {
  return new CaravanError(ErrorCodes.USAGE, message);
}

/** Splits argv into the command words (longest registered command prefix) and the remaining arguments. */
export function splitCommand(
  argv: readonly string[],
  names: readonly string[],
): { words: string[]; rest: string[]; group: boolean } {
  const valueOptions = new Set<string>();
  for (const [k, o] of Object.entries(GLOBAL_OPTIONS)) {
    if (o.type === 'string') {
      valueOptions.add(`--${k}`);
      if (o.short) valueOptions.add(`-${o.short}`);
    }
  }
  // positions of the words that are not options (or option values of global options)
  const positions: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    if (a.startsWith('-') && a !== '-') {
      if (valueOptions.has(a)) i++;
      continue;
    }
    positions.push(i);
  }
  const words: string[] = [];
  const used: number[] = [];
  for (const pos of positions) {
    const candidate = [...words, argv[pos] as string].join(' ');
    if (names.some((n) => n === candidate || n.startsWith(candidate + ' '))) {
      words.push(argv[pos] as string);
      used.push(pos);
    } else break;
  }
  const full = words.join(' ');
  const group = words.length > 0 && !names.includes(full);
  const rest = argv.filter((_, i) => !used.includes(i));
  return { words, rest, group };
}

export interface ParsedCommandLine {
  args: string[];
  opts: OptionValues;
  global: GlobalOptions;
  outputExplicit: boolean;
  help: boolean;
}

/** Parses the arguments of one command (after the command words) with its options plus the global ones. */
export function parseCommandLine(
  cmd: CommandSpec | undefined,
  rest: readonly string[],
  env: NodeJS.ProcessEnv,
  isTTY: boolean,
): ParsedCommandLine {
  const all: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS, ...(cmd?.options ?? {}) };
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [k, o] of Object.entries(all)) {
    options[k] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, '');
    throw usageError(
      msg.replace(/\. To specify a positional argument starting with a '-'.*$/s, '').replace(/\n.*/s, ''),
    );
  }
  const v = parsed.values as OptionValues;
  const help = v.help === true;
  const outRaw = v.output as string | undefined;
  if (outRaw !== undefined && !(OUTPUT_FORMATS as readonly string[]).includes(outRaw)) {
    throw usageError(`-o must be one of: ${OUTPUT_FORMATS.join(', ')} (got '${outRaw}')`);
  }
  const noColor = v['no-color'] === true || (env.NO_COLOR !== undefined && env.NO_COLOR !== '');
  const global: GlobalOptions = {
    output: (outRaw ?? 'table') as OutputFormat,
    debug: v.debug === true || env.CARAVAN_DEBUG === '1',
    color: isTTY && !noColor && env.TERM !== 'dumb',
  };
  const home = (v.home as string | undefined) ?? (env.CARAVAN_HOME || undefined);
  if (home !== undefined) global.home = home;
  const site = (v.site as string | undefined) ?? (env.CARAVAN_SITE || undefined);
  if (site !== undefined) global.site = site;
  const opts: OptionValues = {};
  for (const k of Object.keys(cmd?.options ?? {})) opts[k] = v[k];
  const args = parsed.positionals;
  if (cmd && !help) {
    const { min, max } = cmd.args ?? { min: 0, max: 0 };
    const name = `caravan ${cmd.name}`;
    if (args.length < min) {
      throw usageError(
        `${name}: missing argument${min - args.length > 1 ? 's' : ''} (usage: ${name} ${cmd.synopsis ?? ''})`.trim(),
      );
    }
    if (args.length > max) {
      throw usageError(`${name}: unexpected argument '${args[max]}' (usage: ${name} ${cmd.synopsis ?? ''})`);
    }
  }
  return { args, opts, global, outputExplicit: outRaw !== undefined, help };
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([k, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${k}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    return [flag, o.help + (o.multiple ? ' (repeatable)' : '')] as const;
  });
  const w = Math.min(30, Math.max(...rows.map((r) => r[0].length)));
  return rows.map(([f, h]) => `  ${f.padEnd(w)}  ${h}`);
}

/** `caravan <cmd> --help`. */
export function commandHelp(cmd: CommandSpec): string {
  const lines = [`Usage: caravan ${cmd.name}${cmd.synopsis ? ` ${cmd.synopsis}` : ''}`, '', cmd.summary];
  if (cmd.description) lines.push('', cmd.description);
  if (cmd.options && Object.keys(cmd.options).length) lines.push('', 'Options:', ...optionLines(cmd.options));
  lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS));
  lines.push('', cmd.examples.length > 1 ? 'Examples:' : 'Example:', ...cmd.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

/** `caravan --help` or `caravan site` (a group): the commands under `prefix`. */
export function listHelp(commands: readonly CommandSpec[], prefix = ''): string {
  const shown = commands.filter((c) => !c.hidden && (prefix === '' || c.name.startsWith(prefix + ' ')));
  const w = Math.max(...shown.map((c) => c.name.length));
  const head =
    prefix === ''
      ? [
          'Usage: caravan <command> [arguments] [options]',
          '',
          'Caravan connects services across sites by name. Create a site, link sites with tokens,',
          'and expose services with connectors and listeners.',
        ]
      : [`Usage: caravan ${prefix} <command> [arguments] [options]`];
  return (
    [
      ...head,
      '',
      'Commands:',
      ...shown.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
      '',
      `Run 'caravan <command> --help' for a command's options and an example.`,
      'Exit codes are documented in docs/cli.md.',
    ].join('\n') + '\n'
  );
}

// --- small typed accessors for option values -------------------------------------------------------------------

export function optString(ctx: Context, key: string): string | undefined {
  const v = ctx.opts[key];
  return typeof v === 'string' ? v : undefined;
}

export function optBool(ctx: Context, key: string): boolean {
  return ctx.opts[key] === true;
}

export function optList(ctx: Context, key: string): string[] {
  const v = ctx.opts[key];
  if (Array.isArray(v)) return v;
  return typeof v === 'string' ? [v] : [];
}

/** Parses an integer option or argument; USAGE error naming `what` when it is not one. */
export function parseInteger(
  text: string | undefined,
  what: string,
  min: number,
  max: number,
): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text.trim()))
    throw usageError(`${what} must be an integer ${min}-${max} (got '${text}')`);
  const n = Number(text);
  if (n < min || n > max) throw usageError(`${what} must be an integer ${min}-${max} (got ${n})`);
  return n;
}
