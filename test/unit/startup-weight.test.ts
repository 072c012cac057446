// What a router process loads when it starts, read from the compiled import graph (dist/): only the static
// imports run at load time; a dynamic `import()` runs when its code is first needed. The heavy packages a site
// may never use (certificate signing, Kubernetes, AMQP) and the adapters other than tcp must stay behind dynamic
// imports (docs/design/performance.md, "Idle memory"): each of them costs megabytes of RSS in every router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
const STATIC_IMPORT = /^\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;

/** Files (relative to dist/src) and packages reached by static imports from `entries`. */
function staticClosure(...entries: string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = entries.map((e) => resolve(dist, e));
  while (todo.length > 0) {
    const file = todo.pop()!;
    const rel = relative(dist, file);
    if (files.has(rel)) continue;
    files.add(rel);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith('.')) {
        packages.add(spec);
        continue;
      }
      const target = resolve(dirname(file), spec);
      assert.ok(existsSync(target), `${rel} imports ${spec}, which does not exist in dist/`);
      todo.push(target);
    }
  }
  return { files, packages };
}

const HEAVY = [
  '@peculiar/x509',
  'reflect-metadata',
  '@kubernetes/client-node',
  'rhea',
  'node:http2',
  'node:dgram',
];

test('a host router loads no certificate, Kubernetes or AMQP code and no adapter but tcp at start', () => {
  const { files, packages } = staticClosure('daemon/main.js', 'daemon/runtime.js');
  for (const p of HEAVY) assert.ok(!packages.has(p), `the router loads ${p} at start`);
  for (const f of files) {
    assert.ok(!/^adapters\/(http1|http2|amqp|udp)\//.test(f), `the router loads ${f} at start`);
    assert.ok(!f.startsWith('kube/'), `a host router loads ${f} at start`);
    assert.ok(
      !f.startsWith('site/certs/') ||
        f === 'site/certs/lazy.js' ||
        f === 'site/certs/peek.js' ||
        f === 'site/certs/validity.js',
      `the router loads ${f} at start`,
    );
  }
  // the check sees the graph: the router does load its core
  assert.ok(
    files.has('router/router.js') &&
      files.has('adapters/tcp/listener.js') &&
      files.has('links/mux/session.js'),
  );
});

test('a supervisor process (caravan-router --supervise) loads none of the router', () => {
  const { files, packages } = staticClosure('daemon/main.js');
  for (const f of files)
    assert.ok(!/^(router|links|adapters|routing|admin|api|kube)\//.test(f), `the supervisor loads ${f}`);
  for (const p of [...HEAVY, 'yaml']) assert.ok(!packages.has(p), `the supervisor loads ${p}`);
  assert.ok(files.has('daemon/supervise.js'));
});
