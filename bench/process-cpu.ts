/**
 * CPU time of another process, read from Linux's /proc: what the Worker benchmark charges to
 * workerd. `/proc/<pid>/task/<tid>/schedstat`'s first field is the nanoseconds that thread spent on
 * a CPU (finer than `stat`'s clock ticks); a process's time is the sum over its threads.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { fail } from "./common.ts";

/** The pids of this process's direct children whose command name is `name` (`/proc/<pid>/stat`). */
export function childPids(name: string): Set<number> {
  const pids = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while listing
    }
    // The command name is in parentheses and may hold spaces; the parent pid is the second field after it.
    const match = /^\d+ \((.*)\) \S+ (\d+) /s.exec(stat);
    if (match?.[1] === name && Number(match[2]) === process.pid) pids.add(Number(entry));
  }
  return pids;
}

/** Nanoseconds on CPU so far, per thread of `pid`. */
function threadTimes(pid: number): Map<string, number> {
  const times = new Map<string, number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    fail(`process ${pid} is gone`);
  }
  for (const tid of tasks) {
    try {
      times.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]));
    } catch {
      // A thread that exited between the listing and the read: counted by the check below.
    }
  }
  return times;
}

export interface CpuWindow {
  /** Nanoseconds on CPU, all threads, since the window opened. */
  readonly ns: number;
  /** Threads that ran when the window opened and had exited when it closed: their time in the window is lost. */
  readonly lostThreads: number;
}

/** Opens a window on `pid`'s CPU time; the returned function closes it. */
export function cpuWindow(pid: number): () => CpuWindow {
  const before = threadTimes(pid);
  return () => {
    const after = threadTimes(pid);
    let [ns, lostThreads] = [0, 0];
    // A thread born inside the window counts from zero.
    for (const [tid, time] of after) ns += time - (before.get(tid) ?? 0);
    for (const tid of before.keys()) if (!after.has(tid)) lostThreads += 1;
    return { ns, lostThreads };
  };
}

/**
 * Pins every thread of `pid` to the CPUs of `list` (`0`, `0,1`; `taskset -a -p`, util-linux); false when that
 * cannot be done here. Threads created later inherit the mask of the thread that creates them.
 */
export function pin(pid: number, list: string): boolean {
  const args = ["-a", "-p", "-c", list, String(pid)];
  return spawnSync("taskset", args, { stdio: "ignore", timeout: 10_000 }).status === 0;
}
