import { readSiteIdentity } from '../../src/site/identity-file.js';
import { commonNameOf } from '../../src/site/server-identity.js';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseResources, type SiteResource } from '../../src/api/index.js';
import { ExitCodes } from '../../src/cli/exit-codes.js';
import { caravanHome, listSites, resolveSite } from '../../src/cli/sites.js';
import { renderUnit } from '../../src/cli/commands/site-install-service.js';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';
import { loadSiteDir } from '../../src/site/site-dir.js';
import { tempHome } from '../support/cli.js';

test('caravanHome: --home, then CARAVAN_HOME, then XDG_DATA_HOME, then ~/.local/share', () => {
  assert.equal(caravanHome('rel', { CARAVAN_HOME: '/c' }, '/cwd'), '/cwd/rel');
  assert.equal(caravanHome(undefined, { CARAVAN_HOME: '/c', XDG_DATA_HOME: '/x' }), '/c');
  assert.equal(caravanHome(undefined, { XDG_DATA_HOME: '/x', HOME: '/h' }), '/x/caravan');
  assert.equal(caravanHome(undefined, { HOME: '/h' }), '/h/.local/share/caravan');
});

async function rejectsWith(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isCaravanError(e), String(e));
    assert.equal(e.code, code);
    assert.match(e.message, re);
    return true;
  });
}

test('resolveSite: none, one, several (ambiguous unless chosen), unknown', async (t) => {
  const { home, run } = await tempHome(t);
  await rejectsWith(
    resolveSite(home, undefined),
    ErrorCodes.SITE_NOT_FOUND,
    /no site in .*caravan site create/,
  );
  assert.equal((await run(['site', 'create', 'west'])).code, 0);
  assert.deepEqual(await resolveSite(home, undefined), { name: 'west', dir: join(home, 'sites', 'west') });
  assert.equal((await run(['site', 'create', 'east'])).code, 0);
  await mkdir(join(home, 'sites', 'not-a-site')); // no resources/: ignored
  assert.deepEqual(await listSites(home), ['east', 'west']);
  await rejectsWith(
    resolveSite(home, undefined),
    ErrorCodes.SITE_AMBIGUOUS,
    /2 sites .*\(east, west\).*--site NAME/,
  );
  assert.equal((await resolveSite(home, 'east')).name, 'east');
  await rejectsWith(
    resolveSite(home, 'north'),
    ErrorCodes.SITE_NOT_FOUND,
    /no site named 'north'.*east, west/,
  );

  const amb = await run(['status']);
  assert.equal(amb.code, ExitCodes.SITE);
  assert.match(
    amb.stderr,
    /^error: 2 sites in .* \(east, west\): choose one with --site NAME or CARAVAN_SITE\n$/,
  );
  assert.equal((await run(['status', '--site', 'east'])).code, 0);
  assert.equal((await run(['status'], { env: { CARAVAN_SITE: 'west' } })).code, 0);
  assert.equal((await run(['status', '--site', 'north'])).code, ExitCodes.SITE);
});

test('site create: directory layout, CA and key modes, router id, Site resource', async (t) => {
  const { home, run } = await tempHome(t);
  const r = await run([
    'site',
    'create',
    'hub',
    '--link-access',
    '--port',
    '7000',
    '--grant-port',
    '7001',
    '--host',
    'hub.example.net',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Site hub created/);
  const dir = join(home, 'sites', 'hub');
  for (const f of ['runtime/ca.key', 'runtime/server.key', 'runtime/identity.key']) {
    assert.equal((await stat(join(dir, f))).mode & 0o777, 0o600, `${f} is 0600`);
  }
  for (const f of ['runtime/ca.crt', 'runtime/server.crt']) assert.ok((await stat(join(dir, f))).isFile());
  assert.ok((await stat(join(dir, 'logs'))).isDirectory());
  const cfg = await loadSiteDir(dir); // a valid site directory, TLS files present
  assert.equal(cfg.site.metadata.name, 'hub');
  // the router id is derived from the identity key, printed, and named by the server certificate
  assert.equal(cfg.site.spec.routerId, undefined);
  const identity = await readSiteIdentity(dir, 'hub');
  assert.match(identity?.routerId ?? '', /^hub-[a-z2-7]{26}$/);
  assert.ok(r.stdout.includes(identity?.routerId ?? '?'));
  assert.equal(commonNameOf(await readFile(join(dir, 'runtime', 'server.crt'), 'utf8')), identity?.routerId);
  assert.deepEqual(cfg.site.spec.linkAccess, {
    host: '0.0.0.0',
    port: 7000,
    grantPort: 7001,
    hosts: ['hub.example.net'],
  });
  assert.equal(cfg.site.spec.mode, 'interior');

  const again = await run(['site', 'create', 'hub']);
  assert.equal(again.code, ExitCodes.SITE);
  assert.match(again.stderr, /^error: site hub already exists/);

  const edge = await run(['site', 'create', 'laptop', '--edge']);
  assert.equal(edge.code, 0);
  const site = parseResources(
    await readFile(join(home, 'sites', 'laptop', 'resources', 'site-laptop.yaml'), 'utf8'),
    'x',
  )[0] as SiteResource;
  assert.equal(site.spec.mode, 'edge');
  assert.equal(site.spec.linkAccess, undefined);

  const both = await run(['site', 'create', 'x', '--edge', '--link-access']);
  assert.equal(both.code, ExitCodes.USAGE);
  assert.match(both.stderr, /edge site cannot accept links/);
  assert.equal(
    (await run(['site', 'create', 'y', '--port', '5'])).code,
    ExitCodes.USAGE,
    '--port needs --link-access',
  );
  assert.equal((await run(['site', 'create', 'Bad_Name'])).code, ExitCodes.USAGE);
  assert.deepEqual(await listSites(home), ['hub', 'laptop'], 'failed creates leave nothing');
});

test('site status, stop and delete of a stopped site', async (t) => {
  const { home, run } = await tempHome(t);
  await run(['site', 'create', 'west']);
  const st = JSON.parse((await run(['site', 'status', '-o', 'json'])).stdout) as Record<string, unknown>;
  assert.equal(st.running, false);
  assert.equal(st.site, 'west');
  const stop = await run(['site', 'stop']);
  assert.equal(stop.code, ExitCodes.STATE);
  assert.match(stop.stderr, /not running/);
  const net = await run(['network', 'status']);
  assert.equal(net.code, ExitCodes.STATE);
  assert.match(net.stderr, /site west is not running: start it with 'caravan site start/);
  const del = await run(['site', 'delete', 'west']);
  assert.equal(del.code, 0, del.stderr);
  assert.deepEqual(await listSites(home), []);
});

test('site install-service writes a unit that runs the router on the site directory', async (t) => {
  const { home, run } = await tempHome(t);
  await run(['site', 'create', 'west']);
  const r = await run(['site', 'install-service', '--unit-dir', join(home, 'units')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /systemctl --user enable --now caravan-west\.service/);
  const unit = await readFile(join(home, 'units', 'caravan-west.service'), 'utf8');
  assert.match(unit, /^ExecStart=.*node.* .*bin\/caravan-router\.js --dir .*sites\/west$/m);
  assert.match(unit, /WantedBy=default\.target/);
  assert.match(renderUnit({ name: 'w', dir: '/d' }, 'system'), /^User=.+$/m);
  assert.equal((await run(['site', 'install-service', '--scope', 'galaxy'])).code, ExitCodes.USAGE);
});
