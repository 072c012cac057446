import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, isCaravanError } from '../../src/errors.js';
import {
  API_VERSION,
  ResourceError,
  parseResources,
  validateResource,
  type ListenerResource,
} from '../../src/api/index.js';
import { writeFileAtomic } from '../../src/site/atomic.js';
import {
  loadSite,
  loadSiteDir,
  readSiteResources,
  resourceFileName,
  writeResource,
} from '../../src/site/site-dir.js';

const head = (kind: string, name: string): string =>
  `apiVersion: ${API_VERSION}\nkind: ${kind}\nmetadata:\n  name: ${name}\n`;

/** Creates a temporary site directory with the given files; removes it after the test, also on failure. */
async function siteDir(
  t: { after: (fn: () => Promise<void>) => void },
  files: Record<string, string>,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'caravan-site-dir-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'resources'), { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

async function loadError(dir: string): Promise<ResourceError> {
  try {
    await loadSiteDir(dir);
  } catch (e) {
    assert.ok(e instanceof ResourceError, `expected ResourceError, got ${String(e)}`);
    assert.equal(e.code, ErrorCodes.INVALID_RESOURCE);
    return e;
  }
  assert.fail('expected loadSiteDir to fail');
}

const SITE = `${head('Site', 'west')}spec:\n  linkAccess: {port: 0}\n`;
const CERTS = {
  'runtime/ca.crt': 'x',
  'runtime/server.crt': 'x',
  'runtime/server.key': 'x',
  'runtime/links/hub/ca.crt': 'x',
  'runtime/links/hub/client.crt': 'x',
  'runtime/links/hub/client.key': 'x',
};

test('loadSiteDir: a complete site, multi-doc files, .yml, absolute TLS paths', async (t) => {
  const dir = await siteDir(t, {
    ...CERTS,
    'resources/site.yaml': SITE,
    'resources/link-hub.yml': `${head('Link', 'hub')}spec:\n  endpoints: [{host: hub.example, port: 55671}]\n`,
    'resources/db.yaml': `${head('Listener', 'db')}spec: {port: 5432}\n---\n${head('Connector', 'db')}spec: {port: 5432}\n`,
    'resources/grant.yaml': `${head('AccessGrant', 'g')}\n---\n${head('AccessToken', 't')}spec:\n  url: https://hub:8443/x\n  code: abc\n  ca: |\n    -----BEGIN CERTIFICATE-----\n    MIIB\n    -----END CERTIFICATE-----\n`,
    'resources/README.md': 'not yaml',
    'resources/.hidden.yaml': 'not: [valid',
    'resources/.site.yaml.tmp-abcdef': 'garbage',
  });
  const cfg = await loadSiteDir(dir);
  assert.equal(cfg.dir, dir);
  assert.equal(cfg.site.metadata.name, 'west');
  assert.deepEqual(cfg.site.spec.tls, {
    ca: join(dir, 'runtime/ca.crt'),
    cert: join(dir, 'runtime/server.crt'),
    key: join(dir, 'runtime/server.key'),
  });
  assert.equal(cfg.links.length, 1);
  assert.deepEqual(cfg.links[0]?.spec.tls, {
    ca: join(dir, 'runtime/links/hub/ca.crt'),
    cert: join(dir, 'runtime/links/hub/client.crt'),
    key: join(dir, 'runtime/links/hub/client.key'),
  });
  assert.deepEqual(
    cfg.listeners.map((l) => l.spec),
    [{ routingKey: 'db', host: '0.0.0.0', port: 5432, type: 'tcp', distribution: 'balanced' }],
  );
  assert.equal(cfg.connectors[0]?.spec.host, '127.0.0.1');
  assert.equal(cfg.grants[0]?.spec.expiry, '15m');
  assert.equal(cfg.tokens[0]?.spec.code, 'abc');
  assert.equal(cfg.sources.get('Connector/db'), 'resources/db.yaml');
  assert.equal(cfg.sources.get('Link/hub'), 'resources/link-hub.yml');
});

test('loadSiteDir: a site without linkAccess needs no server certificates; admin socket is made absolute', async (t) => {
  const dir = await siteDir(t, {
    'resources/site.yaml': `${head('Site', 'east')}spec:\n  mode: edge\n  admin: {socket: runtime/admin.sock}\n`,
  });
  const cfg = await loadSiteDir(dir);
  assert.equal(cfg.site.spec.mode, 'edge');
  assert.equal(cfg.site.spec.tls, undefined);
  assert.equal(cfg.site.spec.admin?.socket, join(dir, 'runtime/admin.sock'));
  assert.deepEqual([cfg.links, cfg.listeners, cfg.connectors, cfg.grants, cfg.tokens], [[], [], [], [], []]);
});

test('loadSiteDir: exactly one Site', async (t) => {
  const none = await siteDir(t, { 'resources/db.yaml': `${head('Listener', 'db')}spec: {port: 5432}\n` });
  assert.match((await loadError(none)).message, /no Site resource in .*resources: exactly one is required/);
  const empty = await siteDir(t, {});
  assert.match((await loadError(empty)).message, /no Site resource/);
  const two = await siteDir(t, {
    'resources/a.yaml': `${head('Site', 'west')}`,
    'resources/b.yaml': `${head('Site', 'east')}`,
  });
  assert.match(
    (await loadError(two)).message,
    /2 Site resources \("west" in resources\/a\.yaml, "east" in resources\/b\.yaml\): exactly one is required/,
  );
});

test('loadSiteDir: duplicate kind+name names both files', async (t) => {
  const dir = await siteDir(t, {
    'resources/site.yaml': `${head('Site', 'west')}`,
    'resources/a.yaml': `${head('Listener', 'db')}spec: {port: 5432}\n`,
    'resources/b.yaml': `${head('Listener', 'db')}spec: {port: 6432}\n---\n${head('Connector', 'db')}spec: {port: 1}\n`,
  });
  const e = await loadError(dir);
  assert.equal(
    e.message,
    'resources/b.yaml: Listener "db": metadata.name: duplicate Listener "db": defined in both resources/a.yaml and resources/b.yaml',
  );
});

test('loadSiteDir: missing TLS files name the resource field and the path', async (t) => {
  const dir = await siteDir(t, {
    'runtime/ca.crt': 'x',
    'runtime/server.crt': 'x',
    'resources/site.yaml': SITE,
    'resources/link.yaml': `${head('Link', 'hub')}spec:\n  endpoints: [{host: h, port: 1}]\n  tls: {ca: /nonexistent/ca.pem}\n`,
  });
  const e = await loadError(dir);
  const lines = e.message.split('\n');
  assert.deepEqual(lines, [
    `resources/site.yaml: Site "west": spec.tls.key: file not found: ${join(dir, 'runtime/server.key')}`,
    `resources/link.yaml: Link "hub": spec.tls.ca: file not found: /nonexistent/ca.pem`,
    `resources/link.yaml: Link "hub": spec.tls.cert: file not found: ${join(dir, 'runtime/links/hub/client.crt')}`,
    `resources/link.yaml: Link "hub": spec.tls.key: file not found: ${join(dir, 'runtime/links/hub/client.key')}`,
  ]);
});

test('loadSiteDir: invalid documents in several files are all reported', async (t) => {
  const dir = await siteDir(t, {
    'resources/site.yaml': `${head('Site', 'west')}spec: {mode: hub}\n`,
    'resources/db.yaml': `${head('Listener', 'db')}spec: {port: abc}\n`,
    'resources/broken.yaml': `${head('Listener', 'x')}spec: {port: [1}\n`,
  });
  const e = await loadError(dir);
  assert.match(e.message, /^resources\/broken\.yaml:\d+:\d+: YAML syntax error/m);
  assert.match(
    e.message,
    /^resources\/db\.yaml: Listener "db": spec\.port: must be an integer 1-65535 \(got "abc"\)$/m,
  );
  assert.match(e.message, /^resources\/site\.yaml: Site "west": spec\.mode: must be one of: interior, edge/m);
});

test('loadSiteDir: listeners that would bind the same port', async (t) => {
  const dir = await siteDir(t, {
    ...CERTS,
    'resources/site.yaml': `${head('Site', 'west')}spec:\n  linkAccess: {port: 55671}\n`,
    'resources/l.yaml': [
      `${head('Listener', 'a')}spec: {port: 5432, host: 127.0.0.1}`,
      `${head('Listener', 'b')}spec: {port: 5432, host: 127.0.0.2}`,
      `${head('Listener', 'c')}spec: {port: 5432}`,
      `${head('Listener', 'd')}spec: {port: 55671, host: 127.0.0.1}`,
    ].join('\n---\n'),
  });
  const e = await loadError(dir);
  assert.deepEqual(
    e.issues.map((i) => `${i.resource} ${i.path}`),
    ['Listener "c" spec.port', 'Listener "d" spec.port'],
  );
  assert.match(
    e.issues[0]?.message ?? '',
    /port 5432 on 0\.0\.0\.0 is already used by Listener "a" \(resources\/l\.yaml, 127\.0\.0\.1:5432\)/,
  );
  assert.match(e.issues[1]?.message ?? '', /already used by Site "west"/);
});

test('loadSite: invalid listeners, links and clashing ports are left out by name; the rest is applied', async (t) => {
  const dir = await siteDir(t, {
    'resources/site.yaml': `${head('Site', 'west')}spec: {}\n`,
    'resources/l.yaml': [
      `${head('Listener', 'ok')}  generation: 4\nspec: {port: 5432}`,
      `${head('Listener', 'bad')}  generation: 2\nspec: {port: 70000}`,
      `${head('Listener', 'clash')}spec: {port: 5432}`,
    ].join('\n---\n'),
    'resources/link.yaml': `${head('Link', 'hub')}spec:\n  endpoints: [{host: hub.example, port: 55671}]\n`,
    'resources/c.yaml': `${head('Connector', 'db')}spec: {port: 5432}\n`,
  });
  const { config, rejected } = await loadSite(dir);
  assert.deepEqual(
    config.listeners.map((l) => l.metadata.name),
    ['ok'],
  );
  assert.deepEqual(config.links, []);
  assert.deepEqual(
    config.connectors.map((c) => c.metadata.name),
    ['db'],
  );
  const by = new Map(rejected.map((r) => [`${r.kind}/${r.name}`, r]));
  assert.deepEqual([...by.keys()].sort(), ['Link/hub', 'Listener/bad', 'Listener/clash']);
  assert.equal(by.get('Listener/bad')?.generation, 2);
  assert.deepEqual(
    by.get('Listener/bad')?.issues.map((i) => i.path),
    ['spec.port'],
  );
  assert.match(by.get('Listener/clash')?.issues[0]?.message ?? '', /already used by Listener "ok"/);
  assert.equal(by.get('Link/hub')?.issues[0]?.path, 'spec.tls.ca');
  // loadSiteDir still refuses the directory as a whole
  const e = await loadError(dir);
  assert.equal(e.issues.length, 5);
});

test('loadSite: problems of the site as a whole still reject the directory', async (t) => {
  const dir = await siteDir(t, {
    'resources/site.yaml': `${head('Site', 'west')}spec: {mode: hub}\n`,
    'resources/l.yaml': `${head('Listener', 'ok')}spec: {port: 5432}\n`,
  });
  await assert.rejects(loadSite(dir), /spec\.mode/);
  const syntax = await siteDir(t, {
    'resources/site.yaml': `${head('Site', 'west')}spec: {}\n`,
    'resources/l.yaml': `${head('Listener', 'x')}spec: {port: [1}\n`,
  });
  await assert.rejects(loadSite(syntax), /YAML syntax error/);
});

test('writeResource bumps metadata.generation when the spec changes, from 1', async (t) => {
  const dir = await siteDir(t, { 'resources/site.yaml': `${head('Site', 'west')}spec: {}\n` });
  const l = (port: number) =>
    validateResource(
      { apiVersion: API_VERSION, kind: 'Listener', metadata: { name: 'db' }, spec: { port } },
      'test',
    );
  const gen = async (): Promise<number | undefined> =>
    (await loadSiteDir(dir)).listeners[0]?.metadata.generation;
  await writeResource(dir, l(5432));
  assert.equal(await gen(), 1);
  await writeResource(dir, l(5432));
  assert.equal(await gen(), 1, 'the same spec keeps its generation');
  await writeResource(dir, l(6000));
  assert.equal(await gen(), 2);
});

test('loadSiteDir: not a site directory → CONFIG_IO', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'caravan-site-dir-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(loadSiteDir(dir), (e: unknown) => {
    assert.ok(isCaravanError(e, ErrorCodes.CONFIG_IO));
    assert.match((e as Error).message, /is not a site directory: .*resources does not exist/);
    return true;
  });
});

test('loadSiteDir follows symlinked resource files', async (t) => {
  const dir = await siteDir(t, { 'elsewhere/site.yaml': `${head('Site', 'west')}` });
  await symlink(join(dir, 'elsewhere/site.yaml'), join(dir, 'resources/site.yaml'));
  assert.equal((await loadSiteDir(dir)).site.metadata.name, 'west');
});

test('writeResource writes resources/<kind>-<name>.yaml atomically and loadSiteDir reads it back', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'caravan-site-dir-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [site] = parseResources(`${head('Site', 'west')}`, 'x');
  const [listener] = parseResources(`${head('Listener', 'db')}spec: {port: 5432}\n`, 'x');
  const [grant] = parseResources(`${head('AccessGrant', 'hub')}spec: {expiry: 1h}\n`, 'x');
  assert.equal(await writeResource(dir, site!), join(dir, 'resources/site-west.yaml'));
  assert.equal(await writeResource(dir, listener!), join(dir, 'resources/listener-db.yaml'));
  assert.equal(await writeResource(dir, grant!), join(dir, 'resources/accessgrant-hub.yaml'));
  assert.equal(resourceFileName('Connector', 'db'), 'resources/connector-db.yaml');

  // Overwrite with a new port.
  const changed: ListenerResource = { ...(listener as ListenerResource) };
  changed.spec = { ...changed.spec, port: 6543 };
  await writeResource(dir, changed);
  const cfg = await loadSiteDir(dir);
  assert.equal(cfg.listeners[0]?.spec.port, 6543);
  assert.equal(cfg.grants[0]?.spec.expiry, '1h');
  assert.deepEqual((await readdir(join(dir, 'resources'))).sort(), [
    'accessgrant-hub.yaml',
    'listener-db.yaml',
    'site-west.yaml',
  ]);
  assert.match(
    await readFile(join(dir, 'resources/listener-db.yaml'), 'utf8'),
    /^apiVersion: caravan\.dev\/v1alpha1\nkind: Listener\n/,
  );

  // Invalid resources are refused before anything is written.
  const bad = { ...changed, spec: { ...changed.spec, port: 0 } };
  await assert.rejects(writeResource(dir, bad), /spec\.port: must be an integer 1-65535 \(got 0\)/);
  // A resource that another file already defines is refused (the site would hold a duplicate).
  await writeFile(join(dir, 'resources/mine.yaml'), `${head('Connector', 'db')}spec: {port: 1}\n`);
  const [conn] = parseResources(`${head('Connector', 'db')}spec: {port: 2}\n`, 'x');
  await assert.rejects(writeResource(dir, conn!), /already defined in resources\/mine\.yaml/);
});

test('writeFileAtomic: replaces content, applies mode, leaves no temp files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'caravan-atomic-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const p = join(dir, 'key.pem');
  await writeFileAtomic(p, 'one', 0o600);
  assert.equal(await readFile(p, 'utf8'), 'one');
  assert.equal((await stat(p)).mode & 0o777, 0o600);
  await writeFileAtomic(p, new TextEncoder().encode('two'), 0o640);
  assert.equal(await readFile(p, 'utf8'), 'two');
  assert.equal((await stat(p)).mode & 0o777, 0o640);
  // Many concurrent writers: the file always holds one complete version.
  const versions = Array.from({ length: 20 }, (_, i) => `version ${i} `.repeat(1000));
  await Promise.all(versions.map((v) => writeFileAtomic(p, v)));
  assert.ok(versions.includes(await readFile(p, 'utf8')));
  assert.deepEqual(await readdir(dir), ['key.pem']);
  await assert.rejects(writeFileAtomic(join(dir, 'missing-dir', 'x'), 'x'), (e: unknown) =>
    isCaravanError(e, ErrorCodes.CONFIG_IO),
  );
  assert.deepEqual(await readdir(dir), ['key.pem']);
});

test('readSiteResources returns every resource with its source', async (t) => {
  const dir = await siteDir(t, {
    'resources/b.yaml': `${head('Listener', 'db')}spec: {port: 5432}\n`,
    'resources/a.yaml': `${head('Site', 'west')}`,
  });
  const rs = await readSiteResources(dir);
  assert.deepEqual(
    rs.map((r) => `${r.source} ${r.resource.kind}`),
    ['resources/a.yaml Site', 'resources/b.yaml Listener'],
  );
});
