/**
 * Access grants and tokens, link revocation and certificate renewal (docs/design/sites.md).
 * The layout of the files involved is in docs/design/sites.md.
 */
export {
  issueToken,
  readSite,
  readTokenFile,
  parseToken,
  writeTokenFile,
  ensureSiteCa,
  grantFileName,
  type IssueTokenOptions,
} from './issue.js';
export {
  redeemToken,
  requestLinkCertificate,
  type RedeemOptions,
  type RedeemAnswer,
  type LinkCertificate,
  type LinkCertificateRequest,
  type RedeemingRouter,
} from './redeem.js';
export { revokeLink, type RevokeResult } from './revoke.js';
export { GrantServer, Mutex, type GrantServerOptions } from './server.js';
export { LinkRenewer, type LinkRenewerOptions } from './renew.js';
export { postJson, type PostOptions } from './client.js';
export {
  DEFAULT_LINK_CERT_LIFETIME_MS,
  RENEW_REMAINING_FRACTION,
  codeMatches,
  decideRedemption,
  generateCode,
  grantUrl,
  hashCode,
  normalizeSerial,
  renewalDueAt,
  renewalRetryMs,
  tokenHosts,
  type GrantCheckInput,
  type GrantDecision,
} from './logic.js';
export {
  RevocationSet,
  readIssued,
  readRevocations,
  sitePaths,
  type GrantServerInfo,
  type IssuedCert,
  type LinkGrantInfo,
  type RedemptionState,
  type Revocation,
} from './state.js';
