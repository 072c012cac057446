/**
 * Lazy access to the certificate code. `@peculiar/x509` with its Reflect polyfill and DI container costs about
 * 22 MB of heap once loaded, so a router loads it only when it actually signs or renews a certificate.
 */
export type CertsModule = typeof import('./index.js');

let loading: Promise<CertsModule> | undefined;

export function loadCerts(): Promise<CertsModule> {
  loading ??= import('./index.js');
  return loading;
}
