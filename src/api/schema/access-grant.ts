/** The AccessGrant kind: the schema of its fields. */
import { DURATION_SYNTAX, tryParseDuration } from '../duration.js';
import { DEFAULTS } from '../types.js';
import { MAX_INT32, statusOf, time } from './common.js';
import { int, obj, str } from './dsl.js';
import { conditionColumn, type KindSchema } from './kind.js';
import { describeValue } from './messages.js';

export const CODE_PATTERN = /^[A-Za-z0-9._~+/=-]+$/;
export const CODE_HELP = 'must be letters, digits or one of . _ ~ + / = - (no spaces)';

/** A duration string of at least `minMs` (more than 0 when minMs is 0). */
export function duration(description: string, opts: { default?: string; minMs: number; help: string }) {
  const invalid = `must be ${DURATION_SYNTAX}${opts.help}`;
  return str({
    description,
    ...(opts.default !== undefined ? { default: opts.default } : {}),
    invalid,
    trim: true,
    docType: 'duration',
    check: (v) => {
      const ms = tryParseDuration(v);
      return ms === undefined || ms < opts.minMs || ms <= 0
        ? `${invalid} (got ${describeValue(v)})`
        : undefined;
    },
  });
}

export const accessGrantSpec = obj(
  {
    redemptions: int({
      description: 'How many times the grant may be redeemed.',
      min: 1,
      max: MAX_INT32,
      default: DEFAULTS.grantRedemptions,
    }),
    expiry: duration('How long the grant is valid after it is created (`15m`, `1h`, `30s`).', {
      default: DEFAULTS.grantExpiry,
      minMs: 0,
      help: '',
    }),
    cost: int({
      description: 'Cost of links made with this grant.',
      min: 1,
      max: DEFAULTS.maxCost,
      default: DEFAULTS.linkCost,
    }),
    code: str({
      description:
        'The one-time secret in clear (when written by hand). `caravan token issue` stores only `codeHash`.',
      pattern: CODE_PATTERN,
      patternHelp: CODE_HELP,
      maxLength: 1024,
    }),
    codeHash: str({
      description: 'SHA-256 (lowercase hex) of the one-time secret.',
      pattern: /^[0-9a-f]{64}$/,
      patternHelp: 'must be a SHA-256 digest in lowercase hex (64 characters)',
    }),
    certLifetime: duration(
      'Lifetime of the link certificates issued with this grant (renewed before expiry); default 30 days.',
      {
        minMs: 1000,
        help: ', at least 1s',
      },
    ),
  },
  { description: 'A grant: permission for other sites to link to this one.', defaulted: true },
);

export const accessGrant: KindSchema<'AccessGrant'> = {
  kind: 'AccessGrant',
  plural: 'accessgrants',
  description:
    'Permission for other sites to link to this one: redeemed with a token at most `redemptions` times.',
  spec: accessGrantSpec,
  status: statusOf({
    url: str({ description: 'Redemption URL, once the grant server serves the grant.', docType: 'URL' }),
    ca: str({ description: 'PEM CA certificate of the accepting site.', docType: 'PEM' }),
    redeemed: int({ description: 'Redemptions made so far.', min: 0, max: MAX_INT32 }),
    expiresAt: time('When the grant expires (RFC 3339).'),
  }),
  columns: [
    { name: 'Redemptions', type: 'integer', jsonPath: '.spec.redemptions' },
    { name: 'Redeemed', type: 'integer', jsonPath: '.status.redeemed' },
    { name: 'Expires', type: 'string', jsonPath: '.status.expiresAt' },
    conditionColumn('Ready'),
  ],
};
