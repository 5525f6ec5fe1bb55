// NTP-style clock synchronisation between a player and the box. Browser-safe.
//
// Each exchange gives four timestamps (µs): t1 client send, t2 server receive,
// t3 server send, t4 client receive. offset = server - client.
// Jitter only ever *adds* delay, so the exchanges with the smallest round trip
// carry the least error: we keep a window, pick the fastest quarter, and take
// the median offset among them. Drift (ppm) is the slope of those filtered
// offsets over a longer span.

export interface SyncSample {
  t1: number;
  t2: number;
  t3: number;
  t4: number;
}

export interface ClockSyncOptions {
  window?: number; // exchanges kept for offset filtering
  bestFraction?: number; // fraction of the window (smallest RTT) used
  driftSpanUs?: number; // minimum history span before drift is estimated
}

interface Point {
  at: number; // client time of the sample midpoint
  offset: number;
  rtt: number;
}

export class ClockSync {
  private readonly window: number;
  private readonly bestFraction: number;
  private readonly driftSpanUs: number;
  private samples: Point[] = [];
  private history: Point[] = []; // raw exchanges over a long span, for drift
  private offsetUs = 0;
  private refAt = 0;
  private driftPpm = 0;
  private count = 0;

  constructor(opts: ClockSyncOptions = {}) {
    this.window = opts.window ?? 32;
    this.bestFraction = opts.bestFraction ?? 0.25;
    this.driftSpanUs = opts.driftSpanUs ?? 10_000_000;
  }

  /** Adds one exchange. Returns false (and ignores it) when the timestamps are impossible. */
  add(s: SyncSample): boolean {
    const rtt = s.t4 - s.t1 - (s.t3 - s.t2);
    if (![s.t1, s.t2, s.t3, s.t4].every(Number.isFinite) || rtt < 0 || s.t3 < s.t2 || s.t4 < s.t1) return false;
    const offset = (s.t2 - s.t1 + (s.t3 - s.t4)) / 2;
    const at = (s.t1 + s.t4) / 2;
    this.samples.push({ at, offset, rtt });
    if (this.samples.length > this.window) this.samples.shift();
    this.count++;
    this.refilter(at);
    return true;
  }

  private refilter(now: number): void {
    // Project older samples to `now` with the current drift so that a long window
    // does not bias the offset when clocks run at different rates.
    const drift = this.driftPpm * 1e-6;
    // fastest first; among equals the newest, so ties never favour stale samples
    const sorted = [...this.samples].sort((a, b) => a.rtt - b.rtt || b.at - a.at);
    const n = Math.max(1, Math.ceil(sorted.length * this.bestFraction));
    const best = sorted.slice(0, n).map((p) => p.offset + drift * (now - p.at));
    best.sort((a, b) => a - b);
    const mid = best.length >> 1;
    const median = best.length % 2 ? best[mid] : (best[mid - 1] + best[mid]) / 2;
    this.offsetUs = median;
    this.refAt = now;
    this.updateDrift();
  }

  /**
   * Drift from the raw exchanges, not from the filtered offsets (those depend on
   * the drift estimate itself): split the history into time buckets, keep each
   * bucket's fastest exchange, and fit a line through them.
   */
  private updateDrift(): void {
    const last = this.samples[this.samples.length - 1];
    this.history.push(last);
    while (this.history.length > 1024) this.history.shift();
    const all = this.history;
    const span = all[all.length - 1].at - all[0].at;
    if (all.length < 16 || span < this.driftSpanUs) return;
    const buckets = 8;
    const best: Point[] = new Array(buckets);
    for (const p of all) {
      const b = Math.min(buckets - 1, Math.floor(((p.at - all[0].at) / span) * buckets));
      if (!best[b] || p.rtt < best[b].rtt) best[b] = p;
    }
    const h = best.filter(Boolean);
    if (h.length < 4) return;
    // Least-squares slope of offset over time.
    let sx = 0, sy = 0, sxx = 0, sxy = 0;
    const x0 = h[0].at;
    for (const p of h) {
      const x = p.at - x0;
      sx += x; sy += p.offset; sxx += x * x; sxy += x * p.offset;
    }
    const n = h.length;
    const den = n * sxx - sx * sx;
    if (den <= 0) return;
    const slope = (n * sxy - sx * sy) / den;
    if (Math.abs(slope) < 1e-3) this.driftPpm = slope * 1e6; // reject > 1000 ppm as nonsense
  }

  /** A clock already in sync with itself: the box's own speaker (offset zero). */
  static local(): ClockSync {
    const s = new ClockSync();
    for (let i = 0; i < 4; i++) s.add({ t1: i, t2: i, t3: i, t4: i });
    return s;
  }

  get synced(): boolean {
    return this.count >= 4;
  }

  get exchanges(): number {
    return this.count;
  }

  get drift(): number {
    return this.driftPpm;
  }

  /** Current best offset (server - client) in µs at client time `clientUs`. */
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
