/**
 * Sizes, limits, times and durations as the doctor's lines write them.
 */
import type { FetchLimits } from "../core/http.ts";

/** `3.2 KiB`, `812 bytes`. */
export function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KiB`;
}

export function limitsText(limits: FetchLimits): string {
  return `the gate's limits: ${size(limits.maxBytes)}, ${limits.timeoutMs} ms`;
}

/** `2026-11-28T20:00:00Z (1795896000)`. */
export function time(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime())
    ? String(seconds)
    : `${date.toISOString().replace(/\.\d{3}Z$/, "Z")} (${seconds})`;
}

/** `1 h 2 min`, `5 min 3 s`, `12 s`. */
export function duration(totalSeconds: number): string {
  const seconds = Math.abs(Math.round(totalSeconds));
  if (seconds >= 86_400) return `${Math.floor(seconds / 86_400)} d ${Math.floor((seconds % 86_400) / 3600)} h`;
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${seconds} s`;
}
