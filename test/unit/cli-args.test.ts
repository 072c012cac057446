import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommandLine, parseInteger, splitCommand, type CommandSpec } from '../../src/cli/command.js';
import { ExitCodes } from '../../src/cli/exit-codes.js';
import { COMMANDS } from '../../src/cli/registry.js';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';
import { cli } from '../support/cli.js';

const names = COMMANDS.map((c) => c.name);

test('splitCommand: command words are found among global options and their values', () => {
  const r = splitCommand(['-o', 'json', 'site', 'create', 'west', '--port', '1'], names);
  assert.deepEqual(r.words, ['site', 'create']);
  assert.deepEqual(r.rest, ['-o', 'json', 'west', '--port', '1']);
  assert.equal(r.group, false);
  const g = splitCommand(['--home', 'site', 'site'], names);
  assert.deepEqual(g.words, ['site'], '--home takes a value, even one that looks like a command');
  assert.equal(g.group, true);
  assert.deepEqual(splitCommand(['network', 'status'], names).words, ['network', 'status']);
  assert.deepEqual(splitCommand(['status', 'extra'], names), {
    words: ['status'],
    rest: ['extra'],
    group: false,
  });
});

const fake: CommandSpec = {
  name: 'thing make',
  summary: 'x',
  synopsis: '<name> [--count N]',
  args: { min: 1, max: 1 },
  options: {
    count: { type: 'string', help: 'n' },
    tag: { type: 'string', multiple: true, help: 't' },
    flag: { type: 'boolean', help: 'f' },
  },
  examples: ['caravan thing make a'],
  run: async () => undefined,
};

function usageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isCaravanError(e, ErrorCodes.USAGE), `expected a USAGE error, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected a USAGE error');
}

test('parseCommandLine: options, repeatable options, globals from flags and environment', () => {
  const p = parseCommandLine(
    fake,
    ['a', '--count', '3', '--tag', 'x', '--tag', 'y', '--flag', '-o', 'yaml'],
    {},
    true,
  );
  assert.deepEqual(p.args, ['a']);
  assert.equal(p.opts.count, '3');
  assert.deepEqual(p.opts.tag, ['x', 'y']);
  assert.equal(p.opts.flag, true);
  assert.equal(p.global.output, 'yaml');
  assert.equal(p.outputExplicit, true);
  assert.equal(p.global.color, true);
  const env = parseCommandLine(
    fake,
    ['a'],
    { CARAVAN_SITE: 'west', CARAVAN_HOME: '/h', NO_COLOR: '1' },
    true,
  );
  assert.equal(env.global.site, 'west');
  assert.equal(env.global.home, '/h');
  assert.equal(env.global.color, false, 'NO_COLOR turns colour off');
  assert.equal(env.global.output, 'table');
  assert.equal(parseCommandLine(fake, ['a'], {}, false).global.color, false, 'no colour when not a TTY');
  assert.equal(
    parseCommandLine(fake, ['a', '--site', 'east'], { CARAVAN_SITE: 'west' }, false).global.site,
    'east',
  );
});

test('parseCommandLine: usage errors name the problem', () => {
  assert.match(
    usageOf(() => parseCommandLine(fake, ['a', '--bogus'], {}, false)),
    /bogus/,
  );
  assert.match(
    usageOf(() => parseCommandLine(fake, ['a', '-o', 'xml'], {}, false)),
    /-o must be one of: table, json, yaml/,
  );
  assert.match(
    usageOf(() => parseCommandLine(fake, [], {}, false)),
    /missing argument.*thing make <name>/,
  );
  assert.match(
    usageOf(() => parseCommandLine(fake, ['a', 'b'], {}, false)),
    /unexpected argument 'b'/,
  );
  assert.match(
    usageOf(() => parseCommandLine(fake, ['a', '--count'], {}, false)),
    /count/,
  );
  // --help skips the argument count check
  assert.equal(parseCommandLine(fake, ['--help'], {}, false).help, true);
});

test('parseInteger', () => {
  assert.equal(parseInteger(undefined, '--port', 1, 10), undefined);
  assert.equal(parseInteger('7', '--port', 1, 10), 7);
  assert.match(
    usageOf(() => parseInteger('x', '--port', 1, 10)),
    /--port must be an integer 1-10 \(got 'x'\)/,
  );
  assert.match(
    usageOf(() => parseInteger('11', '--port', 1, 10)),
    /got 11/,
  );
});

test('every command has --help with an example, and is listed', async () => {
  const top = await cli(['--help']);
  assert.equal(top.code, 0);
  for (const c of COMMANDS) {
    assert.ok(c.examples.length > 0, `${c.name} has an example`);
    assert.ok(top.stdout.includes(`  ${c.name} `), `caravan --help lists ${c.name}`);
    const r = await cli([...c.name.split(' '), '--help']);
    assert.equal(r.code, 0, `${c.name} --help exits 0`);
    assert.match(r.stdout, new RegExp(`^Usage: caravan ${c.name}`));
    assert.match(r.stdout, /Examples?:\n {2}caravan /);
    assert.equal(r.stderr, '');
  }
});

test('errors: one line, stable exit codes, no stack trace unless --debug', async () => {
  const unknown = await cli(['frobnicate']);
  assert.equal(unknown.code, ExitCodes.USAGE);
  assert.equal(unknown.stderr.trim().split('\n').length, 1);
  assert.match(unknown.stderr, /^error: unknown command 'caravan frobnicate'/);
  const group = await cli(['site']);
  assert.equal(group.code, ExitCodes.USAGE);
  assert.match(group.stderr, /caravan site <command>/);
  const badOpt = await cli(['status', '--nope']);
  assert.equal(badOpt.code, ExitCodes.USAGE);
  assert.equal(badOpt.stderr.trim().split('\n').length, 1);
  const badPort = await cli(['listener', 'create', 'db', 'http']);
  assert.equal(badPort.code, ExitCodes.USAGE);
  assert.equal(badPort.stderr, "error: port must be an integer 1-65535 (got 'http')\n");
  const withDebug = await cli(['listener', 'create', 'db', 'http', '--debug']);
  assert.match(withDebug.stderr, /code: CARAVAN_USAGE\n.*Error.*\n\s+at /s);
  const version = await cli(['--version']);
  assert.match(version.stdout, /^caravan \d+\.\d+\.\d+\n$/);
});
