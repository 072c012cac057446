#!/usr/bin/env node
// Files generated from the resource schemas (src/api/schema/), the manifest builder (src/kube/manifests.ts) and
// the command registry (src/cli/registry.ts → the command reference in docs/cli.md) are committed; this check regenerates them from the compiled code (dist/, so run after tsc) and fails, naming
// each stale file, when one differs. `--write` rewrites them instead; `--root DIR` checks the files of another
// tree (the check's own unit test uses it).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const repo = resolve(new URL('..', import.meta.url).pathname);
const rootArg = process.argv.indexOf('--root');
const root = rootArg > 0 ? resolve(process.argv[rootArg + 1]) : repo;
const write = process.argv.includes('--write');

const dist = join(repo, 'dist', 'src');
if (!existsSync(join(dist, 'kube', 'manifests.js'))) {
  process.stderr.write('generated files: dist/ is missing; run `npm run build` (or tsc) first\n');
  process.exit(1);
}
const m = await import(join(dist, 'kube', 'manifests.js'));
const docs = await import(join(dist, 'api', 'schema', 'docs.js'));
const { VERSION } = await import(join(dist, 'cli', 'version.js'));
const cliRef = await import(join(dist, 'cli', 'reference.js'));
const prettier = await import('prettier');

// the committed namespace install is for namespace `caravan` and the image of this version
const options = { namespace: m.DEFAULT_NAMESPACE, image: `caravan/router:${VERSION}` };
const files = {
  'deploy/kubernetes/crds.yaml': m.manifests(options, 'crds'),
  'deploy/kubernetes/namespace-install.yaml': m.manifests(options, 'namespace'),
  'docs/resources.md': docs.resourcesReference(),
};
// docs/cli.md is hand-written around one generated part (the command reference, from the command registry); the
// whole file is formatted the way `prettier --check` wants it
{
  const rel = 'docs/cli.md';
  const path = join(root, rel);
  if (existsSync(path)) {
    const spliced = cliRef.spliceReference(readFileSync(path, 'utf8'));
    const config = (await prettier.resolveConfig(join(repo, rel))) ?? {};
    files[rel] = await prettier.format(spliced, { ...config, filepath: join(repo, rel) });
  }
}

const stale = [];
for (const [rel, text] of Object.entries(files)) {
  const path = join(root, rel);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (current === text) continue;
  if (write) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    process.stdout.write(`wrote ${rel}\n`);
  } else stale.push(`${rel}: ${current === undefined ? 'missing' : 'stale'}`);
}
if (stale.length) {
  process.stderr.write(`generated files out of date (run \`npm run generate\`):\n  ${stale.join('\n  ')}\n`);
  process.exit(1);
}
if (!write) process.stdout.write('generated files up to date\n');
