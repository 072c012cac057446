// Certificate lifetimes, in a module of their own: code that only needs these numbers (server certificate
// renewal, which every router with link access runs) must not load `@peculiar/x509` with them (site/certs/lazy.ts).

/** A site CA is valid for ten years. */
export const CA_VALIDITY_MS = 10 * 365 * 24 * 3600 * 1000;
/** Link and server certificates are valid for 90 days. */
export const CERT_VALIDITY_MS = 90 * 24 * 3600 * 1000;
/** notBefore is backdated by this much to tolerate clock skew between sites. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
