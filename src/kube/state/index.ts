/**
 * State a Kubernetes site keeps in the cluster (docs/design/kubernetes.md, "State in the cluster"): the data of
 * the Secrets the reconcile core asks for, their keys as files in the router pod's state folder, the way back for
 * what the router writes there, and AccessTokens redeemed into Links.
 */
export { generateSecretData } from './generate.js';
export { materializeSecretFiles, MANIFEST, SECRET_KEY_PATTERN } from './files.js';
export {
  SecretMirror,
  MAX_SECRET_BYTES,
  type SecretMirrorOptions,
  type SecretMirrorStats,
} from './mirror.js';
export { redeemAccessToken, ACCESS_TOKEN_LABEL, type RedeemAccessTokenOptions } from './redeem.js';
