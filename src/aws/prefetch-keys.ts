/**
 * Loading the key sets at a Lambda's init, for the authorizer and the Lambda@Edge function alike:
 * the fetch starts now and is waited for at most a budget; past it, the fetch goes on and the first
 * event joins it.
 */
import type { Config, Gate } from "../core/index.ts";

/** Never rejects (a failure is logged, and the first event fetches again); whether every key set is loaded. */
export async function prefetchKeys<C extends Config>(gate: Gate<C>, budgetMs: number): Promise<boolean> {
  if (!gate.ok) return false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const budget = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => {
      resolve(false);
    }, budgetMs);
  });
  try {
    return await Promise.race([gate.authenticator.prefetchKeys({ logger: gate.logger }), budget]);
  } finally {
    clearTimeout(timer);
  }
}
