import { describe, expect, it } from "vitest";
import { createSingleFlight } from "../../src/core/single-flight.ts";

describe("single flight", () => {
  it("shares one piece of work among concurrent callers with the same key", async () => {
    const flights = createSingleFlight<number>(1000, Date.now);
    let calls = 0;
    const work = async () => {
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return 42;
    };
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => flights.run("a", work)),
      flights.run("b", work),
    ]);
    expect(results).toEqual(Array.from({ length: 11 }, () => 42));
    expect(calls).toBe(2);
    expect(flights.running("a")).toBe(false);
  });

  it("passes the leader's failure to every joiner", async () => {
    const flights = createSingleFlight<number>(1000, Date.now);
    const work = () =>
      new Promise<number>((_resolve, reject) =>
        setTimeout(() => {
          reject(new Error("down"));
        }, 10),
      );
    const results = await Promise.allSettled([flights.run("a", work), flights.run("a", work)]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
  });

  it("does the work itself when the leader never answers (its request went away), and never joins a stale flight", async () => {
    const flights = createSingleFlight<string>(50, Date.now);
    void flights.run("a", () => new Promise<string>(() => undefined));
    expect(flights.running("a")).toBe(true);
    const started = Date.now();
    expect(await flights.run("a", () => Promise.resolve("own"))).toBe("own");
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(flights.running("a")).toBe(false);
    expect(await flights.run("a", () => Promise.resolve("fresh"))).toBe("fresh");
  });
});
