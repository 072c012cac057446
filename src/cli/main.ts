/**
 * The `caravan` command line (bin/caravan.js). `run(argv, io)` is the whole CLI as a function (unit tests call
 * it); `main()` binds it to the process.
 */
import { isResourceError, formatIssue } from '../api/index.js';
import { errorMessage, isCaravanError } from '../errors.js';
import { commandHelp, listHelp, parseCommandLine, splitCommand, type CommandSpec } from './command.js';
import { platformOf } from './kube/connect.js';
import { COMMANDS } from './registry.js';
import { exitCodeFor, ExitCodes } from './exit-codes.js';
import { Output, type Writer } from './output.js';
import { VERSION } from './version.js';

export interface Io {
  stdout: Writer;
  stderr: Writer;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
  cwd: string;
  readStdin: () => Promise<string>;
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function processIo(): Io {
  return {
    stdout: { write: (t) => void process.stdout.write(t) },
    stderr: { write: (t) => void process.stderr.write(t) },
    env: process.env,
    isTTY: process.stdout.isTTY === true,
    cwd: process.cwd(),
    readStdin: readProcessStdin,
  };
}

/** Renders an error as `error: …` lines (one per resource problem); stack only with --debug. */
export function formatError(e: unknown, debug: boolean): string {
  let lines: string[];
  if (isResourceError(e) && e.issues.length > 0) lines = e.issues.map((i) => `error: ${formatIssue(i)}`);
  else lines = [`error: ${errorMessage(e).split('\n').join('\nerror: ')}`];
  if (debug) {
    if (isCaravanError(e)) lines.push(`code: ${e.code}`);
    if (e instanceof Error && e.stack) lines.push(e.stack);
  }
  return lines.join('\n') + '\n';
}

/** Runs one command line; resolves with the exit code. Never throws. */
export async function run(argv: readonly string[], partial: Partial<Io> = {}): Promise<number> {
  const io = { ...processIo(), ...partial };
  let debug = argv.includes('--debug') || io.env.CARAVAN_DEBUG === '1';
  const names = COMMANDS.map((c) => c.name);
  try {
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === 'version')) {
      io.stdout.write(`caravan ${VERSION}\n`);
      return ExitCodes.OK;
    }
    const { words, rest, group } = splitCommand(argv, names);
    const cmd: CommandSpec | undefined = group ? undefined : COMMANDS.find((c) => c.name === words.join(' '));
    if (!cmd) {
      const parsed = parseCommandLine(undefined, rest, io.env, io.isTTY);
      const unknown = parsed.args[0];
      if (unknown !== undefined && !parsed.help) {
        const within = group ? `${words.join(' ')} ` : '';
        io.stderr.write(
          `error: unknown command 'caravan ${within}${unknown}' (run 'caravan ${within}--help' for the list)\n`,
        );
        return ExitCodes.USAGE;
      }
      const help = listHelp(COMMANDS, words.join(' '));
      if (parsed.help || group) {
        (parsed.help ? io.stdout : io.stderr).write(help);
        return parsed.help ? ExitCodes.OK : ExitCodes.USAGE;
      }
      // plain `caravan`: the command list
      io.stdout.write(help);
      return ExitCodes.OK;
    }
    const parsed = parseCommandLine(cmd, rest, io.env, io.isTTY);
    debug = parsed.global.debug;
    if (parsed.help) {
      io.stdout.write(commandHelp(cmd));
      return ExitCodes.OK;
    }
    // a CARAVAN_PLATFORM that is neither host nor kubernetes is refused whatever the command
    platformOf(io.env);
    const out = new Output(io.stdout, io.stderr, parsed.global.output, parsed.global.color);
    const code = await cmd.run({
      command: cmd,
      args: parsed.args,
      opts: parsed.opts,
      global: parsed.global,
      outputExplicit: parsed.outputExplicit,
      env: io.env,
      out,
      readStdin: io.readStdin,
      cwd: io.cwd,
    });
    return code ?? ExitCodes.OK;
  } catch (e) {
    io.stderr.write(formatError(e, debug));
    return isCaravanError(e) ? exitCodeFor(e.code) : ExitCodes.ERROR;
  }
}

/** Entry point of bin/caravan.js. */
export async function main(): Promise<void> {
  const code = await run(process.argv.slice(2));
  process.exitCode = code;
}
