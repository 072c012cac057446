/** The reconcile core of Kubernetes mode (pure): observed namespace → runtime configuration, objects, actions. */
export { reconcile } from './reconcile.js';
export type * from './model.js';
export type * from './objects.js';
export { parseSelector, parseSelectorString, matches, formatSelector, SelectorError } from './selector.js';
export { podServes, podTargets } from './targets.js';
export { linkAddress } from './address.js';
export { LINK_ACCESS_SERVICE } from './services.js';
export {
  SITE_CA_SECRET,
  SERVER_SECRET,
  ROUTER_IDENTITY_SECRET,
  ROUTER_ID_SECRET,
  GRANT_STATE_SECRET,
  SECRET_KEYS,
  STATE_PATHS,
  linkSecretName,
  linkSecret,
  grantStateFile,
  isStatePath,
  routerIdOfKey,
  decode as decodeSecretValue,
} from './secrets.js';
export {
  MANAGED_BY_LABEL,
  MANAGED_BY,
  OWNER_KIND_LABEL,
  OWNER_NAME_LABEL,
  CONTROLLED_ANNOTATION,
  isCaravanOwned,
} from './ownership.js';
export { LINK_ACCESS_TYPES, DEFAULT_LINK_ACCESS_TYPE } from './spec.js';
