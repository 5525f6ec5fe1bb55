// NTP-style clock synchronisation between a player and the box. Browser-safe.
//
// Each exchange gives four timestamps (µs): t1 client send, t2 server receive,
// t3 server send, t4 client receive. offset = server − client.
//
// Jitter only ever ADDS delay, and it adds it to each direction on its own:
//   up   = t2 − t1 = offset(t) + d↑
//   down = t4 − t3 = −offset(t) + d↓
// So each direction's points lie on or above a line (offset plus that
// direction's minimum delay), and drift is that line's slope. We fit each lower
// envelope with the line under all points that passes closest to them (the lower
// convex hull edge above the points' mean time — the linear-programming fit
// used for network clock skew); drift = (slope↑ − slope↓) / 2. The offset now is
// (up − down) / 2 with each direction's lowest recent point, drift taken out. Unlike picking whole exchanges by round trip,
// this needs no exchange that was fast both ways: the fastest "up" of one and the
// fastest "down" of another both count, so the estimate tightens steadily as the
// window fills, spikes are ignored, and drift is estimated from the same fit.

import { firstOf } from '../util/checked-index.ts';

export interface SyncSample {
  t1: number;
  t2: number;
  t3: number;
  t4: number;
}

export interface ClockSyncOptions {
  window?: number; // at most this many exchanges kept (default 2048)
  windowUs?: number; // and none older than this (default 300 s: a long span pins the drift down)
  driftSpanUs?: number; // minimum span before a slope (drift) is fitted (default 10 s)
  recentFraction?: number; // once drift is fitted, the offset comes from this latest part of the window (default 1/2)
  flatUs?: number; // before, from exchanges this recent (default 5 s)
}

interface Point {
  at: number; // client time of the exchange midpoint
  up: number;
  down: number;
  rtt: number;
}

interface Line {
  x0: number;
  y0: number;
  slope: number;
}

const MAX_DRIFT = 1e-3; // 1000 ppm: beyond it a fit is nonsense, not a crystal
const SYNCED_AFTER = 10;

export class ClockSync {
  private readonly window: number;
  private readonly windowUs: number;
  private readonly driftSpanUs: number;
  private readonly recentFraction: number;
  private readonly flatUs: number;
  private samples: Point[] = [];
  private offsetUs = 0;
  private refAt = 0;
  private driftPpm = 0;
  private count = 0;

  constructor(opts: ClockSyncOptions = {}) {
    this.window = Math.max(2, opts.window ?? 2048);
    this.windowUs = opts.windowUs ?? 300_000_000;
    this.driftSpanUs = opts.driftSpanUs ?? 10_000_000;
    this.recentFraction = opts.recentFraction ?? 0.5;
    this.flatUs = opts.flatUs ?? 5_000_000;
  }

  /** Adds one exchange. Returns false (and ignores it) when the timestamps are impossible. */
  add(s: SyncSample): boolean {
    const rtt = s.t4 - s.t1 - (s.t3 - s.t2);
    if (![s.t1, s.t2, s.t3, s.t4].every(Number.isFinite) || rtt < 0 || s.t3 < s.t2 || s.t4 < s.t1) return false;
    const sample = { at: (s.t1 + s.t4) / 2, up: s.t2 - s.t1, down: s.t4 - s.t3, rtt };
    this.samples.push(sample);
    const oldest = sample.at - this.windowUs;
    while (this.samples[0] && (this.samples.length > this.window || this.samples[0].at < oldest)) this.samples.shift();
    this.count++;
    this.refit();
    return true;
  }

  private refit(): void {
    const pts = [...this.samples].sort((a, b) => a.at - b.at);
    const first = pts[0];
    const last = pts[pts.length - 1];
    if (!first || !last) return; // nothing to fit yet
    const now = last.at;
    const span = now - first.at;
    // Drift comes from the lower envelope over the whole window: a long span pins
    // the slope down. The offset now comes from recent exchanges only, with that
    // drift taken out, so a slope error is not multiplied by the window's age.
    let slopeUp = 0;
    let slopeDown = 0;
    if (span >= this.driftSpanUs) {
      slopeUp = envelope(pts, (p) => p.up, true).slope;
      slopeDown = envelope(pts, (p) => p.down, true).slope;
      if (Math.abs(slopeUp - slopeDown) / 2 > MAX_DRIFT) slopeUp = slopeDown = 0;
    }
    let up = Infinity;
    let down = Infinity;
    // The slope is only as good as the span behind it, so the offset comes from the
    // latest part of the window; before any drift is known, from the last few seconds
    // (an unknown drift of 50 ppm moves the offset by 0.25 ms in 5 s).
    const recent = span >= this.driftSpanUs ? Math.max(this.flatUs, span * this.recentFraction) : this.flatUs;
    for (let i = pts.length - 1; i >= 0 && pts[i]!.at >= now - recent; i--) {
      const p = pts[i]!;
      up = Math.min(up, p.up - slopeUp * (p.at - now));
      down = Math.min(down, p.down - slopeDown * (p.at - now));
    }
    this.offsetUs = (up - down) / 2;
    this.driftPpm = ((slopeUp - slopeDown) / 2) * 1e6;
    this.refAt = now;
  }

  /**
   * Forgets every exchange: the next ones may be with a box whose clock is not the
   * old one (it rebooted), and `synced` is false until enough of them came back.
   */
  reset(): void {
    this.samples = [];
    this.offsetUs = 0;
    this.refAt = 0;
    this.driftPpm = 0;
    this.count = 0;
  }

  /** A clock already in sync with itself: the box's own speaker (offset zero). */
  static local(): ClockSync {
    const s = new ClockSync();
    for (let i = 0; i < SYNCED_AFTER; i++) s.add({ t1: i, t2: i, t3: i, t4: i });
    return s;
  }

  /** enough exchanges for a first estimate: the whole connect burst (a few ms off on a loaded machine after only four) */
  get synced(): boolean {
    return this.count >= SYNCED_AFTER;
  }

  get exchanges(): number {
    return this.count;
  }

  get drift(): number {
    return this.driftPpm;
  }

  /** Current best offset (server − client) in µs at client time `clientUs`. */
  offsetAt(clientUs: number): number {
    return this.offsetUs + this.driftPpm * 1e-6 * (clientUs - this.refAt);
  }

  toServer(clientUs: number): number {
    return clientUs + this.offsetAt(clientUs);
  }

  toClient(serverUs: number): number {
    // offsetAt varies by ppm, so one fixed-point step is exact to well under a ns.
    const guess = serverUs - this.offsetUs;
    return serverUs - this.offsetAt(guess);
  }

  /** Smallest round trip in the current window (µs), or NaN before any exchange. */
  get minRttUs(): number {
    return this.samples.length ? Math.min(...this.samples.map((p) => p.rtt)) : NaN;
  }
}

/**
 * The line under every point that is closest to them on average: the lower
 * convex hull edge spanning the points' mean time. Flat (the minimum) when a
 * slope is not wanted or the points do not span enough time to fit one.
 * `pts` must be sorted by time.
 */
function envelope(pts: Point[], y: (p: Point) => number, sloped: boolean): Line {
  const x0 = firstOf(pts, 'clock envelope of no exchanges').at;
  if (!sloped || pts.length < 3) {
    let min = Infinity;
    for (const p of pts) min = Math.min(min, y(p));
    return { x0, y0: min, slope: 0 };
  }
  // Andrew's monotone chain, lower half, on coordinates relative to x0.
  const hull: Array<[number, number]> = [];
  let sumX = 0;
  for (const p of pts) {
    const q: [number, number] = [p.at - x0, y(p)];
    sumX += q[0];
    while (hull.length >= 2) {
      const [ax, ay] = hull[hull.length - 2]!;
      const [bx, by] = hull[hull.length - 1]!;
      if ((bx - ax) * (q[1] - ay) - (by - ay) * (q[0] - ax) <= 0) hull.pop();
      else break;
    }
    hull.push(q);
  }
  const mean = sumX / pts.length;
  let i = 0;
  while (i < hull.length - 2 && hull[i + 1]![0] < mean) i++;
  const left = hull[i]!; // the hull holds at least the first point, and i stops at hull.length - 2
  const [ax, ay] = left;
  const [bx, by] = hull[i + 1] ?? left;
  const slope = bx > ax ? (by - ay) / (bx - ax) : 0;
  return { x0: x0 + ax, y0: ay, slope };
}
