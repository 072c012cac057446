/**
 * Resource YAML as a user (or the resources/ watcher) hands it over: parse + validate (src/api/parse.ts,
 * validate.ts). Every accepted resource must render back to YAML that parses to the same resource.
 */
import { ResourceError } from '../../../src/api/errors.js';
import { parseResources, resourcesToYaml } from '../../../src/api/parse.js';
import { API_VERSION } from '../../../src/api/types.js';
import { expectTyped, invariant, text } from '../harness.js';

export function fuzz(data: Buffer): void {
  expectTyped([ResourceError], () => {
    const resources = parseResources(text(data), 'fuzz.yaml');
    if (resources.length === 0) return;
    const again = parseResources(resourcesToYaml(resources), 'again.yaml');
    invariant(
      JSON.stringify(again) === JSON.stringify(resources),
      'resources change through toYaml and back',
    );
  });
}

const head = (kind: string, name: string): string =>
  `apiVersion: ${API_VERSION}\nkind: ${kind}\nmetadata:\n  name: ${name}\n`;

export function seeds(): Buffer[] {
  return [
    `${head('Site', 'west')}spec:\n  routerId: west-1\n  mode: interior\n  linkAccess: {}\n  routing:\n    helloIntervalMs: 500\n`,
    `${head('Listener', 'db')}  labels:\n    tier: data\nspec:\n  routingKey: db\n  port: 5432\n  type: tcp\n  distribution: closest\n`,
    `${head('Connector', 'web')}spec:\n  routingKey: web\n  host: 127.0.0.1\n  port: 8080\n  type: http1\n`,
    `${head('Link', 'to-east')}spec:\n  cost: 5\n  endpoints:\n    - host: east.example\n      port: 55671\n`,
    `${head('AccessGrant', 'g')}spec:\n  redemptions: 2\n  expiry: 15m\n  certLifetime: 720h\n---\n${head('Listener', 'x')}spec:\n  port: 80\n`,
    `apiVersion: ${API_VERSION}\nkind: Listener\nmetadata: {name: &n y, labels: {app: *n}}\nspec: {port: 81, routingKey: *n}\n`,
  ].map((s) => Buffer.from(s));
}
