/**
 * When a test's prerequisite is missing on a developer's machine (root for network namespaces, Debian's
 * Chromium), the test is reported as skipped with the reason. Under CI (CI=true) nothing is skipped: CI installs
 * every prerequisite, so a missing one must fail the run loudly instead of passing silently.
 */
export function skipUnless(ok: boolean, reason: string): false | string {
  if (ok || process.env.CI) return false;
  return reason;
}
