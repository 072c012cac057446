/** The AccessToken kind: the schema of its fields. */
import { DEFAULTS } from '../types.js';
import { CODE_HELP, CODE_PATTERN } from './access-grant.js';
import { MAX_INT32, statusOf, time } from './common.js';
import { int, obj, str } from './dsl.js';
import { conditionColumn, type KindSchema } from './kind.js';
import { describeValue } from './messages.js';

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

function httpsProblem(url: string): string | undefined {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  return !parsed || parsed.protocol !== 'https:' || !parsed.hostname
    ? `must be an https:// URL (got ${describeValue(url)})`
    : undefined;
}

export const accessTokenSpec = obj(
  {
    url: str({
      description: 'Redemption URL of the grant server (https).',
      required: true,
      check: httpsProblem,
      docType: 'URL',
    }),
    code: str({
      description: 'The one-time code.',
      required: true,
      pattern: CODE_PATTERN,
      patternHelp: CODE_HELP,
      maxLength: 1024,
    }),
    ca: str({
      description: 'PEM CA certificate of the accepting site (to verify the grant server and the link).',
      required: true,
      check: (v) =>
        PEM_CERT_RE.test(v)
          ? undefined
          : 'must be a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)',
      docType: 'PEM',
    }),
    cost: int({
      description: 'Requested link cost; the grant’s cost applies when absent.',
      min: 1,
      max: DEFAULTS.maxCost,
    }),
    expiresAt: time(
      'For the redeemer’s information (the grant server decides): when the grant expires (RFC 3339, the issuing site’s clock). Absent from tokens of older versions.',
      64,
    ),
    redemptions: int({
      description: 'For the redeemer’s information: how many redemptions the grant allows.',
      min: 1,
      max: MAX_INT32,
    }),
  },
  { description: 'A token: what a site needs to redeem a grant of another site.', required: true },
);

export const accessToken: KindSchema<'AccessToken'> = {
  kind: 'AccessToken',
  plural: 'accesstokens',
  description: 'A token issued by another site; redeeming it makes a Link (and its certificates).',
  spec: accessTokenSpec,
  status: statusOf({}),
  columns: [{ name: 'URL', type: 'string', jsonPath: '.spec.url', priority: 1 }, conditionColumn('Ready')],
};
