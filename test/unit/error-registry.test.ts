/**
 * The error registry (src/errors.ts) is the one list of error codes, and plain `new Error` is kept for what no
 * user or peer can cause: broken internal invariants, and socket errors in the errno style (`code: 'ETIMEDOUT'`)
 * that the adapters classify like the system's own. Anything a user or peer causes is a CaravanError with a
 * registered code. This test reads src/ and fails on a new plain Error whose message is not listed here.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ErrorCodes } from '../../src/errors.js';

const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** The messages (their start) that may be plain Errors, and why. */
const PLAIN_ERRORS: readonly [RegExp, string][] = [
  [/^PrefaceDecoder: preface already decoded/, 'internal invariant: the decoder is used once'],
  [/^stream \$\{[^}]+\}: (accept\(|already accepted)/, 'internal invariant of the mux stream API'],
  [/^write after end or reset/, 'a local stream written after its end: a caller bug, like node:stream'],
  [/^a connector needs at least one target|^connector \$\{spec\.name\}: no targets/, 'validated before'],
  [/^connector stopped|^session closed/, 'socket-style error for pending callers when the owner stops'],
  [/^connect to .* timed out|^no answer within|^timeout$|^admin API did not answer/, 'errno-style timeout'],
  [/^cannot read TLS files/, 'errno-style error carrying the file error code'],
  [/^String\(e/, 'wraps a non-Error thrown value'],
  [
    /^cannot make \$\{a\.generate\.kind\} material/,
    'internal invariant: the controller is built with its generator',
  ],
  [/^the \$\{t\} adapter is not loaded/, 'internal invariant: adapters are loaded before the runtime starts'],
];

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('plain Errors in src/ are only the listed internal ones', async () => {
  const bad: string[] = [];
  for (const file of await sources(join(repo, 'src'))) {
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/new Error\(\s*(?:'([^']*)'|`([^`]*)`|([^)'`]+))/g)) {
      const msg = m[1] ?? m[2] ?? m[3] ?? '';
      if (!PLAIN_ERRORS.some(([re]) => re.test(msg)))
        bad.push(`${file.slice(repo.length + 1)}: new Error(${msg.slice(0, 60)}…)`);
    }
  }
  assert.deepEqual(bad, [], 'use CaravanError with a code from src/errors.ts for these');
});

test('every CARAVAN_ code a CaravanError or an API answer names is registered', async () => {
  const registered = new Set<string>(Object.values(ErrorCodes));
  const unknown: string[] = [];
  for (const file of await sources(join(repo, 'src'))) {
    const text = await readFile(file, 'utf8');
    // codes written as literals in error answers: `code: 'CARAVAN_X'`
    for (const m of text.matchAll(/code:\s*'(CARAVAN_[A-Z_]+)'/g))
      if (!registered.has(m[1] as string)) unknown.push(`${file.slice(repo.length + 1)}: ${m[1]}`);
  }
  assert.deepEqual(unknown, []);
  for (const [key, code] of Object.entries(ErrorCodes)) assert.match(code, /^CARAVAN_[A-Z_]+$/, key);
  assert.equal(new Set(Object.values(ErrorCodes)).size, Object.keys(ErrorCodes).length, 'codes are unique');
});
