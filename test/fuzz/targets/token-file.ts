/** A token file a user passes to `caravan link redeem` (src/site/grants/issue.ts parseToken). */
import { CaravanError } from '../../../src/errors.js';
import { parseToken } from '../../../src/site/grants/issue.js';
import { expectTyped, invariant, text } from '../harness.js';

export function fuzz(data: Buffer): void {
  expectTyped([CaravanError], () => {
    const t = parseToken(text(data), 'fuzz.token');
    invariant(t.kind === 'AccessToken' && typeof t.spec.url === 'string', 'accepted token has no url');
  });
}

const CA = `-----BEGIN CERTIFICATE-----
MIIBbDCCARKgAwIBAgIUQm9ndXMgc2VlZCBjZXJ0aWZpY2F0ZTAKBggqhkjOPQQD
AjAPMQ0wCwYDVQQDDAR0ZXN0MB4XDTI0MDEwMTAwMDAwMFoXDTM0MDEwMTAwMDAw
MFowDzENMAsGA1UEAwwEdGVzdA==
-----END CERTIFICATE-----
`;

export function seeds(): Buffer[] {
  const token = {
    apiVersion: 'caravan.dev/v1alpha1',
    kind: 'AccessToken',
    metadata: { name: 'g' },
    spec: {
      url: 'https://127.0.0.1:9/v1/grants/g',
      code: 'a'.repeat(32),
      ca: CA,
      expiresAt: '2030-01-01T00:00:00.000Z',
      redemptions: 2,
    },
  };
  const yaml = [
    'apiVersion: caravan.dev/v1alpha1',
    'kind: AccessToken',
    'metadata:',
    '  name: g',
    'spec:',
    '  url: https://[::1]:8081/v1/grants/g',
    `  code: ${'b'.repeat(32)}`,
    '  ca: |',
    ...CA.trimEnd()
      .split('\n')
      .map((l) => `    ${l}`),
    '',
  ].join('\n');
  return [Buffer.from(JSON.stringify(token)), Buffer.from(yaml)];
}
