/**
 * Tells the test suite's log scan (test/log-scan.ts) about a credential the dev issuer handed out,
 * which must never appear in a log line; a no-op anywhere else (no scan, nothing kept).
 */
export function rememberCredential(value: string): void {
  (globalThis as { authgearEdgeCredentials?: Set<string> }).authgearEdgeCredentials?.add(value);
}
