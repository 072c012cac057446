/**
 * The command reference of docs/cli.md, generated from the command registry (the same specs that `--help`
 * prints), so the documentation cannot drift from the CLI. `npm run generate` writes it between the markers in
 * docs/cli.md; `npm run check` fails while the committed text differs (scripts/check-generated.mjs).
 */
import { CaravanError, ErrorCodes } from '../errors.js';
import { GLOBAL_OPTIONS, type CommandSpec, type OptionSpec } from './command.js';
import { COMMANDS } from './registry.js';

export const REFERENCE_BEGIN =
  '<!-- BEGIN generated command reference: edit src/cli/commands/*, then run npm run generate -->';
export const REFERENCE_END = '<!-- END generated command reference -->';

/** Plain help text as Markdown: `<name>` would be read as an HTML tag, `*.key` as emphasis. */
function prose(text: string): string {
  return text.replace(/\n/g, ' ').replace(/[<*_]/g, (c) => `\\${c}`);
}

/** `|` cannot appear raw inside a Markdown table cell. */
function cell(text: string): string {
  return prose(text).replace(/\|/g, '\\|');
}

function flag(name: string, o: OptionSpec): string {
  const short = o.short ? `-${o.short}, ` : '';
  const value = o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : '';
  return `\`${short}--${name}${value}\``;
}

function optionsTable(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(
    ([k, o]) =>
      `| ${flag(k, o).replace(/\|/g, '\\|')} | ${cell(o.help + (o.multiple ? ' (repeatable)' : ''))} |`,
  );
  return ['| option | meaning |', '| --- | --- |', ...rows];
}

/** A GitHub-style heading anchor for `caravan site create` → `caravan-site-create`. */
export function anchorOf(cmd: CommandSpec): string {
  return `caravan-${cmd.name.replace(/ /g, '-')}`;
}

function section(cmd: CommandSpec): string[] {
  const out = [
    `### caravan ${cmd.name}`,
    '',
    '```',
    `caravan ${cmd.name}${cmd.synopsis ? ` ${cmd.synopsis}` : ''}`,
    '```',
    '',
  ];
  const summary = cmd.summary.charAt(0).toUpperCase() + cmd.summary.slice(1);
  out.push(prose(summary.endsWith('.') ? summary : `${summary}.`), '');
  if (cmd.description) out.push(prose(cmd.description), '');
  if (cmd.options && Object.keys(cmd.options).length > 0) out.push(...optionsTable(cmd.options), '');
  out.push(cmd.examples.length > 1 ? 'Examples:' : 'Example:', '', '```sh', ...cmd.examples, '```', '');
  return out;
}

/** The text between the markers (markers included). */
export function commandReference(commands: readonly CommandSpec[] = COMMANDS): string {
  const shown = commands.filter((c) => !c.hidden);
  const lines = [
    REFERENCE_BEGIN,
    '',
    '| command | what it does |',
    '| --- | --- |',
    ...shown.map((c) => `| [\`${c.name}\`](#${anchorOf(c)}) | ${cell(c.summary)} |`),
    '',
    'Every command also takes the global options:',
    '',
    ...optionsTable(GLOBAL_OPTIONS),
    '',
    ...shown.flatMap(section),
    REFERENCE_END,
  ];
  return lines.join('\n');
}

/**
 * `doc` with the part between the markers replaced by the reference; the markers must be there once each, in
 * order (CONFIG_IO otherwise).
 */
export function spliceReference(doc: string, reference: string = commandReference()): string {
  const b = doc.indexOf(REFERENCE_BEGIN);
  const e = doc.indexOf(REFERENCE_END);
  if (b < 0 || e < b || doc.indexOf(REFERENCE_BEGIN, b + 1) >= 0) {
    throw new CaravanError(
      ErrorCodes.CONFIG_IO,
      `docs/cli.md must contain the markers ${REFERENCE_BEGIN} … ${REFERENCE_END} once each`,
    );
  }
  return doc.slice(0, b) + reference + doc.slice(e + REFERENCE_END.length);
}
