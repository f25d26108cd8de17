/**
 * Single flight that is safe on Workers: concurrent callers with the same key share one piece of
 * work (one key-set fetch, one resolver call).
 *
 * workerd ties promises and I/O to the request that created them. A request that awaits another
 * request's promise is resumed in that other request's context: its own later I/O (the fetch to
 * the origin) then belongs to the wrong request and fails ("Cannot perform I/O on behalf of a
 * different request"), or, when that request has ended meanwhile, it is never resumed at all. So a
 * joining caller never waits on the leader's promise: it polls the flight's outcome with its own
 * timers (after `POLL_MS`, then at doubling intervals up to `MAX_POLL_MS`), and if the leader has not
 * finished within `patienceMs` (its request went away), it does the work itself. A flight older than
 * `patienceMs` is not joined.
 */
export interface SingleFlight<V> {
  run(key: string, work: () => Promise<V>): Promise<V>;
  /** Whether work for `key` is under way (and still young enough to join). */
  running(key: string): boolean;
}

/**
 * A joining caller first looks at the flight after this many milliseconds, then at doubling intervals up to
 * `MAX_POLL_MS`.
 */
export const POLL_MS = 2;
export const MAX_POLL_MS = 50;

type Outcome<V> = { readonly ok: true; readonly value: V } | { readonly ok: false; readonly error: Error };

interface Flight<V> {
  readonly startedAt: number;
  outcome: Outcome<V> | undefined;
}

export function createSingleFlight<V>(patienceMs: number, now: () => number): SingleFlight<V> {
  const flights = new Map<string, Flight<V>>();

  function live(key: string): Flight<V> | undefined {
    const flight = flights.get(key);
    return flight !== undefined && flight.outcome === undefined && now() - flight.startedAt < patienceMs
      ? flight
      : undefined;
  }

  function lead(key: string, work: () => Promise<V>): Promise<V> {
    const flight: Flight<V> = { startedAt: now(), outcome: undefined };
    flights.set(key, flight);
    const done = (outcome: Outcome<V>): void => {
      flight.outcome = outcome;
      if (flights.get(key) === flight) flights.delete(key);
    };
    return work().then(
      (value) => {
        done({ ok: true, value });
        return value;
      },
      (error: unknown) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        done({ ok: false, error: failure });
        throw failure;
      },
    );
  }

  return {
    running: (key) => live(key) !== undefined,
    run(key, work) {
      const flight = live(key);
      if (flight === undefined) return lead(key, work);
      return new Promise<V>((resolve, reject) => {
        let delay = POLL_MS;
        const poll = (): void => {
          const { outcome } = flight;
          if (outcome?.ok === true) resolve(outcome.value);
          else if (outcome?.ok === false) reject(outcome.error);
          else if (now() - flight.startedAt >= patienceMs) lead(key, work).then(resolve, reject);
          else {
            delay = Math.min(delay * 2, MAX_POLL_MS);
            setTimeout(poll, delay);
          }
        };
        setTimeout(poll, delay);
      });
    },
  };
}
