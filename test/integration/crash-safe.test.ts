/**
 * Crash-safe state: a writer process (test/support/crash-writer.ts) that writes resources, a link's
 * certificates, grants and tokens, revocations, redemption counts and the issued-certificate list through the
 * real code paths is killed with SIGKILL at a random moment, again and again. After every kill each file is
 * exactly one generation (old or new, never partial, a link's certificate folder never mixed), nothing
 * recorded is lost, and the site directory loads; at the end the router starts on it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SiteRuntime } from '../../src/daemon/runtime.js';
import { nullLogger } from '../../src/observe/log.js';
import { isAtomicTempFile } from '../../src/site/atomic.js';
import { createCa, issueCertificate } from '../../src/site/certs/index.js';
import { parseToken, readRevocations, sitePaths } from '../../src/site/grants/index.js';
import { writeJson, type IssuedCert, type LinkGrantInfo } from '../../src/site/grants/state.js';
import { loadSiteDir } from '../../src/site/site-dir.js';
import { cli } from '../support/cli.js';
import {
  ISSUED_COUNT,
  issuedAt,
  LINK,
  LISTENER,
  linkYaml,
  listenerYaml,
  tokenPath,
  writeGeneration,
  type CertSets,
} from '../support/crash-state.js';
import { freePort } from '../support/ports.js';
import { makeTempRoot } from '../support/sites.js';

const WRITER = fileURLToPath(new URL('../support/crash-writer.js', import.meta.url));
/** Kills per run (CARAVAN_CRASH_KILLS for a longer run). */
const KILLS = Number(process.env.CARAVAN_CRASH_KILLS ?? 100);
/**
 * Stop killing after this long even if fewer kills were made: on an idle machine 100 kills take well under it,
 * on a loaded one (each writer start-up costs a second) at least MIN_KILLS must still happen.
 */
const BUDGET_MS = Math.max(25_000, KILLS * 250);
const MIN_KILLS = Math.min(KILLS, 10);

/**
 * A writer process started ahead of time (its start-up overlaps the previous round's checks); `killAfter`
 * lets it write and kills it with SIGKILL `delayMs` after it began. Resolves how it ended.
 */
function startWriter(args: string[]): {
  killAfter: (delayMs: number) => Promise<{ killed: boolean; stderr: string }>;
  discard: () => Promise<unknown>;
} {
  const child = spawn(process.execPath, [WRITER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let out = '';
  let delay = -1;
  let timer: NodeJS.Timeout | undefined;
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => undefined);
  const ended = new Promise<{ killed: boolean; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', stderr });
    });
  });
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    // the kill point is random on purpose: this delay injects the fault, it synchronizes nothing
    if (timer === undefined && delay >= 0 && out.includes('go\n'))
      timer = setTimeout(() => child.kill('SIGKILL'), delay);
  });
  return {
    killAfter: (delayMs) => {
      delay = delayMs;
      child.stdin.write('start\n');
      return ended;
    },
    // never told to start: it has written nothing
    discard: () => {
      child.kill('SIGKILL');
      return ended;
    },
  };
}

const generationOf = (text: string): number => Number(/^ {4}crash-gen: "?(\d+)"?$/m.exec(text)?.[1]);
/** The text without its metadata.generation line (writeResource counts spec changes there itself). */
const withoutGeneration = (text: string): string => text.replace(/^ {2}generation: \d+\n/m, '');

describe('crash-safe state: writers killed with -9 at random points', () => {
  let root: { dir: string; remove: () => Promise<void> };
  let dir: string;
  let ports: { listener: number; link: number };
  let certs: CertSets;

  before(async () => {
    root = await makeTempRoot('crash');
    const grantPort = await freePort();
    const r = await cli(
      [
        'site',
        'create',
        'hub',
        '--link-access',
        '--port',
        '0',
        '--grant-port',
        String(grantPort),
        '--host',
        '127.0.0.1',
      ],
      { env: { CARAVAN_HOME: root.dir }, cwd: root.dir },
    );
    assert.equal(r.code, 0, r.stderr);
    dir = join(root.dir, 'sites', 'hub');
    ports = { listener: await freePort(), link: await freePort() };
    const sets = [];
    for (const name of ['a', 'b']) {
      const ca = await createCa({ commonName: `peer-${name} CA` });
      const leaf = await issueCertificate(ca, { commonName: 'hub', usage: 'client' });
      sets.push({ ca: ca.certPem, cert: leaf.certPem, key: leaf.keyPem });
    }
    certs = { sets };
    await writeFile(join(root.dir, 'certs.json'), JSON.stringify(certs));
    await writeJson(sitePaths(dir).issued, { certs: issuedAt(1) });
    await writeGeneration(dir, root.dir, 1, ports, certs);
  });

  after(async () => {
    await root?.remove();
  });

  test(`up to ${KILLS} kills: every file old or new, nothing lost, the site loads and its router starts`, async (t) => {
    const res = join(dir, 'resources');
    const linkDir = sitePaths(dir).linkDir(LINK);
    let kills = 0;
    let lastListener = 0;
    let lastFolder = 0;
    let lastRevocations = (await readRevocations(dir)).length;
    const started = Date.now();
    const writerArgs = (n: number): string[] => [
      dir,
      root.dir,
      String(n * 1_000_000),
      String(ports.listener),
      String(ports.link),
    ];
    let next = startWriter(writerArgs(1));
    while (kills < KILLS && Date.now() - started < BUDGET_MS) {
      const delay = Math.floor(Math.random() * 60);
      const run = await next.killAfter(delay);
      next = startWriter(writerArgs(kills + 2));
      assert.equal(run.killed, true, `the writer ended by itself:\n${run.stderr}`);
      kills++;
      const at = `after kill ${kills} (${delay} ms into the writes)`;

      // the whole site directory loads: resources parse and validate, every TLS file a resource names exists
      const config = await loadSiteDir(dir);
      assert.equal(config.listeners.length, 1, at);

      // resources: exactly one generation's text; never older than what was seen before
      const lText = await readFile(join(res, `listener-${LISTENER}.yaml`), 'utf8');
      const lg = generationOf(lText);
      assert.equal(
        withoutGeneration(lText),
        withoutGeneration(listenerYaml(lg, ports.listener)),
        `${at}: listener file is one whole generation`,
      );
      assert.ok(lg >= lastListener, `${at}: listener went back from ${lastListener} to ${lg}`);
      lastListener = lg;
      const kText = await readFile(join(res, `link-${LINK}.yaml`), 'utf8');
      const kg = generationOf(kText);
      assert.equal(
        withoutGeneration(kText),
        withoutGeneration(linkYaml(kg, ports.link)),
        `${at}: link file is one whole generation`,
      );

      // the link's certificate folder: all four files from one generation, at least as new as its Link
      const grant = JSON.parse(await readFile(join(linkDir, 'grant.json'), 'utf8')) as LinkGrantInfo;
      const fg = grant.lifetimeMs;
      const set = certs.sets[fg % 2]!;
      assert.equal(
        await readFile(join(linkDir, 'ca.crt'), 'utf8'),
        set.ca,
        `${at}: ca.crt of generation ${fg}`,
      );
      assert.equal(await readFile(join(linkDir, 'client.crt'), 'utf8'), set.cert, at);
      assert.equal(await readFile(join(linkDir, 'client.key'), 'utf8'), set.key, at);
      assert.ok(
        fg >= kg && fg >= lastFolder,
        `${at}: link folder generation ${fg} (Link ${kg}, before ${lastFolder})`,
      );
      lastFolder = fg;

      // grants: the token file is a whole token; every JSON state file parses
      parseToken(await readFile(tokenPath(root.dir), 'utf8'), 'token.yaml');
      const issued = JSON.parse(await readFile(sitePaths(dir).issued, 'utf8')) as { certs: IssuedCert[] };
      assert.equal(issued.certs.length, ISSUED_COUNT, at);
      assert.equal(
        new Set(issued.certs.map((c) => c.lifetimeMs)).size,
        1,
        `${at}: issued.json of one generation`,
      );
      const revocations = await readRevocations(dir);
      assert.ok(revocations.length >= lastRevocations, `${at}: a revocation was lost`);
      lastRevocations = revocations.length;
      const redemptions = join(sitePaths(dir).grantsDir, 'redemptions');
      for (const f of await readdir(redemptions)) {
        if (isAtomicTempFile(f)) continue;
        JSON.parse(await readFile(join(redemptions, f), 'utf8'));
      }
    }
    await next.discard();
    const leftovers =
      (await readdir(res)).filter(isAtomicTempFile).length +
      (await readdir(join(dir, 'runtime', 'links'))).filter((n) => n.startsWith('.')).length;
    t.diagnostic(
      `${kills} kills in ${Date.now() - started} ms; ${leftovers} unfinished temporary files/folders left behind`,
    );
    assert.ok(kills >= MIN_KILLS, `only ${kills} kills within ${BUDGET_MS} ms`);
    assert.ok(lastRevocations > 0, 'the writers got as far as revoking');

    // the site starts again on what the kills left (leftover temporary files included)
    const rt = await SiteRuntime.start(dir, { logger: nullLogger });
    await rt.stop();
  });
});
