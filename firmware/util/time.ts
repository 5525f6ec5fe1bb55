// Monotonic clock in microseconds. CLOCK_MONOTONIC is shared by every process on
// a machine, so on loopback the box and its players start with offset ~0 — the
// clock sync still measures it, it does not assume it.
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Monotonic clock in milliseconds, for durations and timeouts. The wall clock
 * (Date.now) is stepped and slewed: a box without a real-time clock steps it at
 * its first NTP sync, often by hours, and that must not count as time waited.
 * Calendar times (the play log, the programme, timestamps shown to people) stay
 * on the wall clock.
 */
export function monotonicMs(): number {
  return monotonicUs() / 1000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
