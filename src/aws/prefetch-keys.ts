/**
 * Loading the key sets at a Lambda's init, for the authorizer and the Lambda@Edge function alike:
 * the fetch starts now and is waited for at most a budget; past it, the fetch goes on and the first
 * event joins it.
 */
import type { Config, Gate } from "../core/index.ts";

/** `promise`'s value, or `fallback` once `budgetMs` milliseconds have passed (the promise goes on). */
export async function withinBudget<T, F>(promise: Promise<T>, budgetMs: number, fallback: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const budget = new Promise<F>((resolve) => {
    timer = setTimeout(() => {
      resolve(fallback);
    }, budgetMs);
  });
  try {
    return await Promise.race([promise, budget]);
  } finally {
    clearTimeout(timer);
  }
}

/** Never rejects (a failure is logged, and the first event fetches again); whether every key set is loaded. */
export async function prefetchKeys<C extends Config>(gate: Gate<C>, budgetMs: number): Promise<boolean> {
  if (!gate.ok) return false;
  return withinBudget(gate.authenticator.prefetchKeys({ logger: gate.logger }), budgetMs, false);
}
