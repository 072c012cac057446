/** The schema of every kind, by kind name: the one definition the validator, the CRDs and the docs come from. */
import type { Kind } from '../types.js';
import { accessGrant } from './access-grant.js';
import { accessToken } from './access-token.js';
import { connector } from './connector.js';
import type { KindSchema } from './kind.js';
import { link } from './link.js';
import { listener } from './listener.js';
import { site } from './site.js';

export const SCHEMAS: { readonly [K in Kind]: KindSchema<K> } = {
  Site: site,
  Link: link,
  Listener: listener,
  Connector: connector,
  AccessGrant: accessGrant,
  AccessToken: accessToken,
};

export type { KindSchema } from './kind.js';
export * from './dsl.js';
