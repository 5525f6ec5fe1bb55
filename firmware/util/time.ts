// Monotonic clock in microseconds. CLOCK_MONOTONIC is shared by every process on
// a machine, so on loopback the box and its players start with offset ~0 — the
// clock sync still measures it, it does not assume it.
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
