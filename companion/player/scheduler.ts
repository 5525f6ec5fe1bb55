// Playout scheduler: feeds a PcmSink so that each stream frame leaves the DAC at
// its playAt (local clock).
//
// Device time model: after a write the sink reports {delayFrames, atUs}; the next
// frame written leaves at tNext = atUs + delayFrames / rate. The error
// e = tNext + offset − (playAt of the next stream frame) is positive when we are
// late. Small errors are corrected by dropping (late) or repeating (early) single
// frames, at most one per 1000 (≤ 0.1 % rate change, inaudible); large ones by a
// hard resync. Underruns write silence while the stream timeline keeps moving, so
// audio that arrives later still plays at its own time.
//
// Latency offset sign: a POSITIVE offset plays EARLIER. Each frame leaves the DAC
// at playAt − offset, which compensates a downstream device (Bluetooth speaker,
// slow DAC) that adds that much delay after the DAC.

import { EventEmitter } from 'node:events';
import type { PcmFormat } from '../../firmware/wire/format.ts';
import { monotonicUs } from '../../firmware/util/time.ts';
import type { PcmSink, SinkStatus } from '../../hardware/audio/pcm-sink.ts';
import { JitterBuffer, type JitterBlock, type PushResult } from './jitter-buffer.ts';
import { OutputMap } from './output-map.ts';

export interface SchedulerOptions {
  /** local clock in µs; must be the clock of the sink's status.atUs (default monotonicUs) */
  now?: () => number;
  deviceBufferMs?: number; // audio kept queued in the device (default 60)
  writeBlockMs?: number; // size of each write (default 10)
  deadbandUs?: number; // errors within it are left alone (default 80: above a settled clock estimate's noise on a quiet link, so a steady stream stays sample-exact); once past it, corrected back to zero
  hardThresholdUs?: number; // errors beyond it are fixed at once (default 30000)
  settleMs?: number; // right after the start, while the clock estimate is young (default 3000)...
  settleThresholdUs?: number; // ...errors beyond this are fixed at once too (default 500 µs): soft correction would take seconds
  averageOver?: number; // error measurements averaged (default 16)
  softSpacingFrames?: number; // minimum frames between soft corrections (default 1000)
  maxBufferMs?: number; // jitter buffer bound (default 5000)
  latencyOffsetMs?: number; // positive = play earlier (default 0)
  volume?: number; // 0..100 (default 100)
  muted?: boolean;
  rampMs?: number; // volume ramp length (default 20)
  idleWaitMs?: number; // poll interval while there is nothing to do (default 5)
}

export type SchedulerState = 'waiting' | 'playing' | 'stopped';

export interface SchedulerStats {
  state: SchedulerState;
  syncErrorUs: number; // smoothed error, positive = late
  underrunFrames: number;
  underruns: number; // events (runs of missing data)
  resyncs: number;
  insertedFrames: number; // soft duplicates + resync silence
  droppedFrames: number; // soft drops + resync skips
  bufferedMs: number; // jitter buffer ahead of the play head
  deviceDelayMs: number;
}

export interface SchedulerEvents {
  started: [{ firstFrameOutUs: number }];
  underrun: [{ atUs: number }];
  resync: [{ errorUs: number }];
  error: [Error];
}

const HARD_WINDOW = 5; // median of the latest measurements decides a hard resync

export class PlayoutScheduler extends EventEmitter<SchedulerEvents> {
  readonly format: PcmFormat;
  readonly buffer: JitterBuffer;
  private readonly now: () => number;
  private readonly rate: number;
  private readonly ch: number;
  private readonly blockFrames: number;
  private deviceBufferUs: number;
  private readonly deadbandUs: number;
  private readonly hardUs: number;
  private readonly settleUs: number;
  private readonly settleThresholdUs: number;
  private startedAtUs = NaN;
  private readonly averageOver: number;
  private readonly softSpacing: number;
  private readonly idleWaitMs: number;
  private readonly gain: GainRamp;
  private offsetUs: number;

  private state: SchedulerState = 'stopped';
  private running = false;
  private loopDone: Promise<void> | null = null;
  private timer: { id: ReturnType<typeof setTimeout>; resolve: () => void } | null = null;
  private status: SinkStatus | null = null;
  private pendingSilence = 0;
  private errors: number[] = [];
  private correcting = false;
  private sinceCorrection = 0;
  private inUnderrun = false;
  private tokensUs: number; // spin guard: never write much faster than real time
  private tokensAt = NaN;
  private lastFrame: Int16Array;
  private primed = false;
  /** device frame ↔ source frame bookkeeping (sync measurement) */
  readonly output = new OutputMap();
  private counters = { syncErrorUs: 0, underrunFrames: 0, underruns: 0, resyncs: 0, insertedFrames: 0, droppedFrames: 0 };

  constructor(private readonly sink: PcmSink, opts: SchedulerOptions = {}) {
    super();
    this.format = sink.format;
    this.rate = sink.format.sampleRate;
    this.ch = sink.format.channels;
    this.now = opts.now ?? monotonicUs;
    this.buffer = new JitterBuffer(sink.format, { maxBufferMs: opts.maxBufferMs });
    this.blockFrames = Math.max(1, Math.round(((opts.writeBlockMs ?? 10) * this.rate) / 1000));
    this.deviceBufferUs = (opts.deviceBufferMs ?? 60) * 1000;
    this.deadbandUs = opts.deadbandUs ?? 80;
    this.hardUs = opts.hardThresholdUs ?? 30_000;
    this.settleUs = (opts.settleMs ?? 3000) * 1000;
    this.settleThresholdUs = opts.settleThresholdUs ?? 500;
    this.averageOver = Math.max(1, opts.averageOver ?? 16);
    this.softSpacing = Math.max(1, opts.softSpacingFrames ?? 1000);
    this.idleWaitMs = opts.idleWaitMs ?? 5;
    this.offsetUs = checkOffset(opts.latencyOffsetMs ?? 0) * 1000;
    this.gain = new GainRamp(this.ch, Math.round(((opts.rampMs ?? 20) * this.rate) / 1000));
    this.gain.set(opts.volume ?? 100, opts.muted ?? false);
    this.gain.settle();
    this.tokensUs = this.tokenCapacity;
    this.lastFrame = new Int16Array(this.ch);
  }

  private get tokenCapacity(): number {
    return 2 * this.deviceBufferUs + 4 * this.usOf(this.blockFrames);
  }

  private usOf(frames: number): number {
    return (frames * 1e6) / this.rate;
  }

  private framesOf(us: number): number {
    return Math.round((us * this.rate) / 1e6);
  }

  /** Adds a decoded block (playAt on the LOCAL clock). */
  push(block: JitterBlock): PushResult {
    return this.buffer.push(block);
  }

  setVolume(volume: number): void {
    this.gain.set(volume, this.gain.muted);
  }

  setMuted(muted: boolean): void {
    this.gain.set(this.gain.volume, muted);
  }

  /** Positive = play earlier (compensates delay added after the DAC). */
  setLatencyOffsetMs(ms: number): void {
    this.offsetUs = checkOffset(ms) * 1000;
  }

  get latencyOffsetMs(): number {
    return this.offsetUs / 1000;
  }

  get volume(): number {
    return this.gain.volume;
  }

  get muted(): boolean {
    return this.gain.muted;
  }

  stats(): SchedulerStats {
    return {
      state: this.state,
      ...this.counters,
      bufferedMs: (this.buffer.bufferedFrames() * 1000) / this.rate,
      deviceDelayMs: this.status ? (this.status.delayFrames * 1000) / this.rate : 0,
    };
  }

  /**
   * The device frame (0 = first frame written since start) that carried source
   * frame `source` (see JitterBlock.source); NaN when it was not played or is
   * too old. With the device's own record of when each frame left (the virtual
   * DAC's frameOutTimeUs) this gives when a given stream frame was heard.
   */
  deviceFrameOfSource(source: number): number {
    return this.output.deviceFrameOf(source);
  }

  /** The source frame carried by device frame `deviceFrame`; NaN for silence or unknown. */
  sourceOfDeviceFrame(deviceFrame: number): number {
    return this.output.sourceOf(deviceFrame);
  }

  /** Opens the sink and starts the playout loop; plays as soon as audio is pushed. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.sink.open();
    this.output.reset();
    this.primed = false;
    this.running = true;
    this.state = 'waiting';
    this.loopDone = this.loop();
  }

  /** Stops the loop and closes the sink. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) {
      clearTimeout(this.timer.id);
      this.timer.resolve();
    }
    await this.loopDone;
    this.state = 'stopped';
    await this.sink.close();
  }

  /** Discards buffered audio and the timeline (gap, format change); the next block starts afresh. */
  flush(): void {
    this.buffer.clear();
    this.pendingSilence = 0;
    this.resetErrors();
    this.inUnderrun = false;
    if (this.running) this.state = 'waiting';
  }

  private resetErrors(): void {
    this.errors = [];
    this.correcting = false;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let waitMs: number;
      try {
        waitMs = await this.step();
      } catch (e) {
        this.running = false;
        this.state = 'stopped';
        if (this.listenerCount('error') > 0) this.emit('error', e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (waitMs > 0 && this.running) await this.sleep(waitMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timer = { id: setTimeout(() => { this.timer = null; resolve(); }, ms), resolve };
    });
  }

  /** One scheduling decision. Returns how long to wait (ms) before the next, 0 = go on. */
  private async step(): Promise<number> {
    const now = this.now();
    this.tokensUs = Number.isNaN(this.tokensAt) ? this.tokensUs : Math.min(this.tokenCapacity, this.tokensUs + (now - this.tokensAt) * 1.01);
    this.tokensAt = now;
    if (this.state === 'waiting') return this.begin();

    const st = this.status!;
    const tNext = st.atUs + this.usOf(st.delayFrames);
    const queuedUs = tNext - now;
    if (queuedUs > this.deviceBufferUs) return Math.max(1, Math.ceil((queuedUs - this.deviceBufferUs) / 1000));
    const blockUs = this.usOf(this.blockFrames);
    if (this.tokensUs < blockUs) return Math.max(1, Math.ceil((blockUs - this.tokensUs) / 1000));

    if (this.pendingSilence > 0) {
      const n = Math.min(this.pendingSilence, this.blockFrames);
      this.pendingSilence -= n;
      this.lastFrame.fill(0);
      this.output.silence(n);
      await this.write(new Int16Array(n * this.ch));
      return 0;
    }

    const e = tNext + this.offsetUs - this.buffer.cursorTimeUs;
    this.errors.push(e);
    if (this.errors.length > this.averageOver) this.errors.shift();
    const avg = this.errors.reduce((a, b) => a + b, 0) / this.errors.length;
    this.counters.syncErrorUs = avg;
    const recent = median(this.errors.slice(-HARD_WINDOW));
    if (Math.abs(recent) > this.hardUs && this.errors.length >= Math.min(3, this.averageOver)) {
      this.resync(recent);
      return 0;
    }
    // The first estimate comes from a handful of exchanges; on a jittery link it can be
    // a few ms off and soft correction (≤ 0.1 %) would need seconds to follow the
    // better estimates that arrive within the first second. Jump to them instead.
    if (now - this.startedAtUs < this.settleUs && Math.abs(recent) > this.settleThresholdUs && this.errors.length >= this.averageOver) {
      this.resync(recent);
      return 0;
    }
    // Correct back to zero, not just into the deadband: stopping at its edge would
    // leave every drifting device a steady deadband's worth off, in its own direction.
    if (Math.abs(avg) > this.deadbandUs) this.correcting = true;
    else if (Math.abs(avg) <= this.usOf(0.5)) this.correcting = false;

    // +1: drop a frame (we are late), −1: repeat one (early)
    const corr = this.correcting && this.sinceCorrection >= this.softSpacing ? (avg > 0 ? 1 : -1) : 0;
    const n = this.blockFrames;
    const { pcm, missingFrames, pieces } = this.buffer.readNext(n + corr);
    this.noteUnderrun(missingFrames);
    const out = corr === 0 ? pcm : this.correct(pcm, corr, n);
    this.output.block(spansOf(corr, n), pieces);
    if (corr !== 0) {
      this.sinceCorrection = 0;
      if (corr > 0) this.counters.droppedFrames++;
      else this.counters.insertedFrames++;
      // the stored measurements predate the correction; shift them so the average stays true
      const shift = corr * this.usOf(1);
      this.errors = this.errors.map((x) => x - shift);
    } else {
      this.sinceCorrection += n;
    }
    if (n > 0) this.lastFrame = out.slice((n - 1) * this.ch, n * this.ch);
    await this.write(this.gain.apply(out));
    return 0;
  }

  /** First audio: line the stream up with the device (lead-in silence or fast join). */
  private async begin(): Promise<number> {
    if (this.buffer.empty) return this.idleWaitMs;
    // A device starts its clock at the first write (an unclocked sink anchors its pacing
    // there too): prime it with a little silence so the status used for the alignment
    // below comes from a running device, not from one that starts a round trip later.
    let st: SinkStatus;
    if (this.primed) st = await this.sink.status();
    else {
      const prime = this.framesOf(PRIME_US);
      this.output.silence(prime);
      st = await this.sink.write(new Int16Array(prime * this.ch));
      this.primed = true;
    }
    // An unclocked sink (ALSA file/null) is paced by our own model of a DAC: keep more
    // queued there so a loaded machine's scheduling hiccups do not starve the model.
    if (!this.sink.clocked) this.deviceBufferUs = Math.max(this.deviceBufferUs, UNCLOCKED_BUFFER_US);
    const first = this.buffer.firstPlayAt();
    if (first === null || this.state !== 'waiting') return 0; // flushed or stopped meanwhile
    this.status = st;
    const tNext = st.atUs + this.usOf(st.delayFrames);
    const target = tNext + this.offsetUs;
    if (target < first) {
      this.pendingSilence = this.framesOf(first - target);
      this.buffer.seek(first);
    } else {
      this.pendingSilence = 0;
      this.buffer.seek(target);
    }
    this.resetErrors();
    this.sinceCorrection = this.softSpacing;
    this.inUnderrun = false;
    this.state = 'playing';
    this.startedAtUs = this.now();
    this.emit('started', { firstFrameOutUs: tNext + this.usOf(this.pendingSilence) });
    return 0;
  }

  private resync(errorUs: number): void {
    const frames = this.framesOf(Math.abs(errorUs));
    if (errorUs > 0) {
      this.buffer.skip(frames);
      this.counters.droppedFrames += frames;
    } else {
      this.pendingSilence += frames;
      this.counters.insertedFrames += frames;
    }
    this.counters.resyncs++;
    this.resetErrors();
    this.emit('resync', { errorUs });
  }

  private noteUnderrun(missing: number): void {
    if (missing > 0) {
      this.counters.underrunFrames += missing;
      if (!this.inUnderrun) {
        this.counters.underruns++;
        this.emit('underrun', { atUs: this.now() });
      }
    }
    this.inUnderrun = missing > 0;
  }

  /** Drops (corr = 1) or repeats (corr = −1) one frame in the middle of the block. */
  private correct(pcm: Int16Array, corr: number, n: number): Int16Array {
    const ch = this.ch;
    const m = n >> 1;
    const out = new Int16Array(n * ch);
    out.set(pcm.subarray(0, m * ch), 0);
    if (corr > 0) {
      out.set(pcm.subarray((m + 1) * ch), m * ch);
    } else {
      const prev = m > 0 ? pcm.subarray((m - 1) * ch, m * ch) : this.lastFrame;
      out.set(prev, m * ch);
      out.set(pcm.subarray(m * ch), (m + 1) * ch);
    }
    return out;
  }

  private async write(pcm: Int16Array): Promise<void> {
    this.tokensUs -= this.usOf(pcm.length / this.ch);
    this.status = await this.sink.write(pcm);
  }
}

// Lead-in silence written before the alignment: it must outlast the gap to the next write,
// or the device (or our model of an unclocked one) runs dry and restarts later than the
// alignment assumed — on a loaded machine a worker round trip alone can take ms (5 ms was
// too short: a companion started ~14 ms late and had to resync).
export const PRIME_US = 30_000;

/** Read positions of a block's output frames: straight, one dropped, or one repeated in the middle (see correct()). */
function spansOf(corr: number, n: number): Array<{ pos: number; n: number }> {
  const m = n >> 1;
  if (corr > 0) return [{ pos: 0, n: m }, { pos: m + 1, n: n - m }];
  if (corr < 0) return [{ pos: 0, n: m }, { pos: m - 1, n: 1 }, { pos: m, n: n - m - 1 }];
  return [{ pos: 0, n }];
}
const UNCLOCKED_BUFFER_US = 200_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function checkOffset(ms: number): number {
  if (!Number.isFinite(ms) || Math.abs(ms) > 10_000) throw new RangeError(`latency offset must be a number of ms within ±10000, got ${ms}`);
  return ms;
}

/**
 * Software volume. Gain = (volume/100)² approximates loudness perception; changes
 * ramp linearly (full scale over the ramp length) so they never click. At unity
 * the samples pass through untouched (bit-exact).
 */
export class GainRamp {
  volume = 100;
  muted = false;
  private cur = 1;
  private target = 1;
  private readonly step: number;

  constructor(private readonly ch: number, rampFrames: number) {
    this.step = 1 / Math.max(1, rampFrames);
  }

  set(volume: number, muted: boolean): void {
    if (!Number.isFinite(volume) || volume < 0 || volume > 100) throw new RangeError(`volume must be within 0..100, got ${volume}`);
    this.volume = volume;
    this.muted = muted;
    this.target = muted ? 0 : (volume / 100) ** 2;
  }

  /** Jumps to the target gain (no ramp): for the initial setting, before any sound. */
  settle(): void {
    this.cur = this.target;
  }

  /** Applies the gain in place and returns the same array. */
  apply(pcm: Int16Array): Int16Array {
    if (this.cur === this.target) {
      if (this.cur === 1) return pcm;
      if (this.cur === 0) return pcm.fill(0);
    }
    const ch = this.ch;
    for (let i = 0; i < pcm.length; i += ch) {
      if (this.cur !== this.target) {
        this.cur = this.cur < this.target ? Math.min(this.target, this.cur + this.step) : Math.max(this.target, this.cur - this.step);
      }
      for (let c = 0; c < ch; c++) pcm[i + c] = Math.round(pcm[i + c] * this.cur);
    }
    return pcm;
  }
}
