// Live input: an ALSA capture PCM (line-in, USB interface, a loopback or PulseAudio
// monitor) as a PcmSource, timed so that a sample leaves every DAC at the instant it
// entered the box plus the stream latency (README "Live input", ARCHITECTURE.md).
//
// The device delivers periods on its own crystal. Each read comes with a reading
// (when it returned, how many frames the device still held), and a capture clock —
// the same filtered line the players fit to their output device (DeviceClock) —
// gives the frame that was being captured at any instant. The engine asks for the
// frames of a chunk slot `inputDelayUs` after the slot began, naming the slot's
// instant; the source hands out the frames captured at that instant. Small
// departures (the capture crystal against the box clock) are corrected by
// resampling at most 0.1 % (linear interpolation, inaudible); inside ±0.5 ms frames
// pass through untouched, so a capture whose clock matches the box's stays
// sample-exact. A large one (start, overrun, a stalled engine) re-aligns at once.
//
// A sound server's record stream (ALSA's `pulse` PCM) can report a backlog that is not
// there while it starts — 80–300 ms for its first 0.5–1.1 s, then gone without being
// read — and the capture clock steps back when it goes. Played, that is the input early
// and then a gap. On such a device the source holds the input (silence) until the
// report has settled: 1.5 s after the first reading, and 0.5 s after the capture clock's
// last step (README "Live input").
//
// The stream never stops for a device problem: while the PCM is missing, busy,
// unplugged or silent-stuck the source returns silence, reports the error once, and
// reopens with exponential backoff.

import { EventEmitter } from 'node:events';
import { DeviceClock } from '../../util/device-clock.ts';
import type { CaptureDevice, CaptureOpenInfo } from '../../../hardware/audio/alsa-capture.ts';
import { DEFAULT_FORMAT, type PcmFormat } from '../../wire/format.ts';
import { monotonicUs } from '../../util/time.ts';
import type { PcmSource } from '../types.ts';

/** the input delay covers the device's hold plus this: a chunk (20 ms) and a read that comes late */
const INPUT_MARGIN_US = 50_000;
/** ...and never more than this (the stream's latency must still leave listeners a lead) */
const MAX_INPUT_DELAY_US = 300_000;
/** a file-backed PCM behind the time (a stalled event loop) catches up by up to this many periods per read */
const MAX_CATCH_UP_PERIODS = 16;
/** per reading (every 10–20 ms): the longest hold is forgotten over tens of seconds */
const DELAY_MAX_DECAY = 0.999;
/** a read that returns this much later than its frames' duration after the previous one was held up (see catchingUp) */
const LATE_READ_US = 50_000;
/** a realignment this soon after the box was held up is told as its consequence */
const HOLD_UP_TOLD_US = 2_000_000;
/** a backlog is worked off within this, or it is how the device now holds frames */
const CATCH_UP_US = 2_000_000;
/** a sound server's capture is held this long after its first reading... */
const SETTLE_US = 1_500_000;
/** ...and until its capture clock has not stepped for this long */
const STEADY_US = 500_000;

/**
 * |timing error| beyond which the source re-aligns at once (a gap or a skip) instead of
 * resampling: a young capture clock on a sound server wanders by ±20 ms (its readings move in
 * fragments), which is no reason to cut the sound
 */
const JUMP_MS = 40;
/** the resampling starts beyond this error and stops under a fifth of it */
const CORRECT_FROM_MS = 0.5;
/** full correction (maxRatio) from this error on: a time constant of about 2 s */
const FULL_CORRECTION_MS = 2;

export interface CaptureSourceOptions {
  format?: PcmFormat;
  clock?: () => number; // µs
  inputDelayMs?: number; // how long after a slot's instant the engine asks for its frames (default 100)
  maxRatio?: number; // largest resampling correction (default 0.001 = 0.1 %)
  stallMs?: number; // a read that takes longer is a device that stopped delivering (default 2000)
  retryMs?: [number, number]; // reopen backoff, first and longest (default 500, 30000)
  silenceThreshold?: number; // peak below this (of 32767) is silence (default 64, about −54 dBFS)
  silenceMs?: number; // silence this long is reported (default 30000; 0 = never)
  silentAlready?: boolean; // the input is known silent (its start was reported): report only its end
  sleep?: (ms: number) => Promise<void>;
}

export type CaptureRealignment = ({ cause: 'jump'; errorMs: number } | { cause: 'underrun'; missingMs: number } | { cause: 'overrun' }) & {
  /** the box was held up this long (ms) shortly before: its reads or the engine's requests came late (an overloaded machine) */
  heldUpMs?: number;
};

export interface CaptureSourceEvents {
  'device-error': [{ device: string; message: string; retryInMs: number }];
  'device-ok': [{ device: string; rate: number; clocked: boolean }];
  /** the input stayed silent for silenceMs (start), or sound came back after that (end) */
  silence: [{ state: 'start' | 'end'; silentForMs: number }];
  /**
   * the input, once flowing, skipped or paused: its timing jumped beyond JUMP_MS (errorMs: how
   * far off; + the frames at hand were captured after the slot), its frames were not read in
   * time (missingMs of the chunk played silent), or the device lost frames
   */
  realigned: [CaptureRealignment];
}

export class CaptureSource extends EventEmitter<CaptureSourceEvents> implements PcmSource {
  readonly kind = 'capture' as const;
  private readonly minInputDelayUs: number;
  private deviceDelayMaxUs = 0; // the longest the device held captured frames lately (decaying)
  private lastReadingUs = NaN; // when the previous read returned
  private catchUpSinceUs = NaN; // a late read started a backlog at this instant (NaN: none)
  readonly description: string;
  readonly ended = false;
  readonly error: Error | null = null;
  readonly format: PcmFormat;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxRatio: number;
  private readonly stallMs: number;
  private readonly retryMs: [number, number];
  private readonly silenceThreshold: number;
  private readonly silenceMs: number;
  // captured s16 stereo at the device rate, not yet handed out
  private chunks: Int16Array[] = [];
  private head = 0; // frames already consumed from chunks[0]
  private level = 0; // frames buffered
  private frac = 0; // fractional read position (resampling)
  private deviceRate = 0;
  private readTotal = 0; // frames read from the device since it opened: the buffer ends at this index
  private captureClock: DeviceClock | null = null;
  private settled = false; // the delay report can be believed (a sound server's: once it settled): the capture may play
  private firstReadingUs = NaN;
  private lastStepUs = NaN;
  private lastHoldUp = { atUs: -Infinity, lateUs: 0 }; // the box held up: reads or the engine's requests came this late
  private overrunsSeen = 0;
  private primed = false;
  private correcting = false;
  private closed = false;
  private closing: Promise<void> = Promise.resolve(); // the device's close under way
  private up = false;
  private silentSinceUs = NaN;
  private silenceReported = false;
  readonly stats = { overflows: 0, underruns: 0, corrections: 0, realignments: 0, reopens: 0, framesCaptured: 0, lastErrorMs: 0 };

  constructor(
    private readonly device: CaptureDevice,
    opts: CaptureSourceOptions = {},
  ) {
    super();
    this.format = opts.format ?? DEFAULT_FORMAT;
    if (this.format.channels !== 2 || this.format.bitsPerSample !== 16) throw new Error('capture: the stream format must be 16-bit stereo');
    this.clock = opts.clock ?? monotonicUs;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.minInputDelayUs = (opts.inputDelayMs ?? 100) * 1000;
    if (!(this.minInputDelayUs > 0)) throw new RangeError(`capture: inputDelayMs must be > 0, got ${opts.inputDelayMs}`);
    this.maxRatio = opts.maxRatio ?? 0.001;
    this.stallMs = opts.stallMs ?? 2000;
    this.retryMs = opts.retryMs ?? [500, 30_000];
    this.silenceThreshold = opts.silenceThreshold ?? 64;
    this.silenceMs = opts.silenceMs ?? 30_000;
    if (opts.silentAlready) {
      this.silenceReported = true;
      this.silentSinceUs = this.clock();
    }
    this.description = `capture:${device.name}`;
    void this.run();
  }

  /**
   * How long after a slot's instant the engine asks for its frames: they must have been
   * captured and read by then. A sound server may hold ~100 ms of captured audio before
   * handing it over (its capture buffer), a hardware device a period: the longest hold seen
   * lately plus a margin for a chunk and a late read, at least `inputDelayMs`.
   */
  get inputDelayUs(): number {
    return Math.min(MAX_INPUT_DELAY_US, Math.max(this.minInputDelayUs, this.deviceDelayMaxUs + INPUT_MARGIN_US));
  }

  /** the box-clock instant of the newest frame read from the device (undefined until the capture clock can tell) */
  get capturedUntilUs(): number | undefined {
    const captureClock = this.captureClock;
    return this.up && this.settled && captureClock?.ready ? captureClock.frameOutUs(this.readTotal) : undefined;
  }

  /** true while the device delivers */
  get deviceUp(): boolean {
    return this.up;
  }

  /** frames buffered between the device and the engine (at the device rate) */
  get bufferedFrames(): number {
    return this.level;
  }

  /**
   * The frames captured from `atUs` on (box clock; default: `inputDelayUs` ago),
   * resampled to the stream rate. Silence while the device is down or before the
   * frames of that instant have been read.
   */
  read(frames: number, atUs?: number): Int16Array {
    const out = new Int16Array(frames * 2);
    const captureClock = this.captureClock;
    if (!this.up || !this.settled || !captureClock?.ready) {
      this.trackSilence(out, 0);
      return out;
    }
    const ratio = this.deviceRate / this.format.sampleRate; // device frames per stream frame
    const msFrames = this.deviceRate / 1000;
    // the device frame being captured at the slot's instant, against where the buffer stands
    const now = this.clock();
    // the engine asks for a slot's frames inputDelayUs after it; much later, it is catching up after the box was held up
    if (atUs !== undefined) this.heldUp(now, now - atUs - this.inputDelayUs);
    const wanted = captureClock.consumedAt(atUs ?? now - this.inputDelayUs);
    let err = this.readTotal - this.level + this.frac - wanted; // > 0: the head was captured after the slot
    let lead = 0; // stream frames of silence before the head (its instant is later than the slot's)
    if (!this.primed || Math.abs(err) > JUMP_MS * msFrames) {
      if (this.primed) {
        this.stats.realignments++;
        this.realigned({ cause: 'jump', errorMs: err / msFrames });
      }
      this.primed = false;
      this.correcting = false;
      if (err < 0) {
        const drop = Math.min(this.level, Math.ceil(-err));
        this.discard(drop);
        err += drop;
        this.frac = 0;
      } else {
        lead = Math.min(frames, Math.round(err / ratio));
        err -= lead * ratio;
      }
      if (err < -1 || lead === frames) {
        // the slot's frames are not read yet, or its whole span lies before the first buffered frame
        this.trackSilence(out, 0);
        return out;
      }
      this.primed = true;
    }
    this.stats.lastErrorMs = err / msFrames;
    if (Math.abs(err) > CORRECT_FROM_MS * msFrames) this.correcting = true;
    else if (Math.abs(err) < (CORRECT_FROM_MS / 5) * msFrames) this.correcting = false;
    // while correcting: the capture crystal's measured rate (feed-forward) plus a pull towards the slot
    const pull = (-err / (FULL_CORRECTION_MS * msFrames)) * this.maxRatio;
    const correction = this.correcting ? Math.max(-this.maxRatio, Math.min(this.maxRatio, captureClock.ppm * 1e-6 + pull)) : 0;
    if (correction !== 0) this.stats.corrections++;
    const step = ratio * (1 + correction);
    const body = out.subarray(lead * 2);
    const want = frames - lead;
    const n = step === 1 && this.frac === 0 ? this.take(body, want) : this.resample(body, want, step);
    if (n < want) this.underrun(((want - n) * 1000) / this.format.sampleRate);
    this.trackSilence(out, lead + n);
    return out;
  }

  /** Stops reading and closes the device (deviceClosed() settles once it is). */
  close(): void {
    this.closed = true;
    this.closing = this.device.close().catch(() => undefined);
  }

  /** settles once the device closed by close() is closed */
  deviceClosed(): Promise<void> {
    return this.closing;
  }

  // ---- the device side

  private async run(): Promise<void> {
    let backoff = this.retryMs[0];
    while (!this.closed) {
      try {
        const info = await this.device.open();
        if (this.closed) break;
        this.deviceRate = info.rate;
        this.restartTiming(info.rate, info.interpolatedDelay === true);
        this.up = true;
        backoff = this.retryMs[0];
        this.emit('device-ok', { device: this.device.name, rate: info.rate, clocked: info.clocked });
        await this.readLoop(info);
      } catch (e) {
        if (this.closed) break;
        this.up = false;
        this.primed = false;
        this.emit('device-error', { device: this.device.name, message: (e as Error).message, retryInMs: backoff });
        await this.device.close().catch(() => undefined);
        this.stats.reopens++;
        await this.sleep(backoff);
        backoff = Math.min(this.retryMs[1], backoff * 2);
      }
    }
  }

  private async readLoop(info: CaptureOpenInfo): Promise<void> {
    const period = Math.max(64, Math.min(info.periodFrames || 480, Math.round(info.rate / 50)));
    const startUs = this.clock();
    let captured = 0;
    while (!this.closed) {
      let frames = period;
      if (!info.clocked) {
        // a file-backed PCM delivers as fast as it is read: take it at the rate of time, all that is due in one read
        const due = ((this.clock() - startUs) * info.rate) / 1e6;
        if (captured + period > due) {
          await this.sleep(Math.max(1, ((captured + period - due) * 1000) / info.rate));
          continue;
        }
        frames = Math.min(MAX_CATCH_UP_PERIODS, Math.floor((due - captured) / period)) * period;
      }
      let timer: NodeJS.Timeout | undefined;
      let check: NodeJS.Immediate | undefined;
      const stalled = new Promise<never>((_, reject) => {
        // checked after the event loop's I/O: when the whole process was held up (a loaded machine), the read's
        // answer waits there behind this timer, and the device did not stop
        timer = setTimeout(() => {
          check = setImmediate(() => reject(new Error(`capture '${this.device.name}': the device stopped delivering (no audio for ${this.stallMs} ms)`)));
        }, this.stallMs);
      });
      let pcm: Int16Array;
      try {
        pcm = await Promise.race([this.device.read(frames), stalled]);
      } finally {
        clearTimeout(timer);
        clearImmediate(check);
      }
      if (pcm.length === 0) throw new Error(`capture '${this.device.name}': the device ended (no more frames)`);
      captured += pcm.length / 2;
      this.stats.framesCaptured += pcm.length / 2;
      this.push(pcm);
      // a paced file PCM's frames are due at exact instants; a clocked device says how far it is ahead of the read
      this.observe(info.clocked ? (this.device.lastReading ?? null) : { atUs: startUs + (captured * 1e6) / info.rate, delayFrames: 0, overruns: 0 }, pcm.length / 2);
    }
  }

  private restartTiming(rate: number, interpolatedDelay: boolean): void {
    this.chunks = [];
    this.head = 0;
    this.level = 0;
    this.frac = 0;
    this.readTotal = 0;
    this.overrunsSeen = 0;
    this.deviceDelayMaxUs = 0;
    this.lastReadingUs = NaN;
    this.catchUpSinceUs = NaN;
    this.primed = false;
    this.settled = !interpolatedDelay;
    this.firstReadingUs = NaN;
    this.lastStepUs = NaN;
    this.captureClock = new DeviceClock({ rate });
  }

  private observe(reading: { atUs: number; delayFrames: number; overruns: number } | null, framesRead: number): void {
    const captureClock = this.captureClock;
    if (!captureClock) return;
    if (reading && reading.overruns !== this.overrunsSeen) {
      // the device lost frames: the count no longer lines up with the old line
      this.overrunsSeen = reading.overruns;
      captureClock.restart();
      if (this.primed) this.realigned({ cause: 'overrun' });
      this.primed = false;
    }
    const delay = reading && Number.isFinite(reading.delayFrames) ? reading.delayFrames : 0;
    const atUs = reading?.atUs ?? this.clock();
    // frames captured by then = read + still held by the device (a negative delay for the playback-side model)
    if (captureClock.observe(atUs, this.readTotal, -delay)) this.lastStepUs = atUs;
    if (!this.settled) this.settle(atUs);
    const backlog = this.catchingUp(atUs, framesRead, delay);
    // a backlog reported while the report settles is not there: it would hold every read back
    if (this.settled && !backlog) this.deviceDelayMaxUs = Math.max((delay * 1e6) / this.deviceRate, this.deviceDelayMaxUs * DELAY_MAX_DECAY);
  }

  /**
   * True while the reads work off a backlog that piled up because nothing was read for a
   * while (this process, or the sound server behind the PCM, was held up): what the device
   * holds then is the hold-up, not how long it keeps frames before handing them over, and
   * learning it would cut every listener's lead for a minute (the hold is forgotten slowly).
   * The backlog is worked off once a reading is back within the usual hold, or after
   * CATCH_UP_US at the most.
   */
  private catchingUp(atUs: number, framesRead: number, delayFrames: number): boolean {
    const lastUs = this.lastReadingUs;
    this.lastReadingUs = atUs;
    const lateUs = atUs - lastUs - (framesRead * 1e6) / this.deviceRate;
    this.heldUp(atUs, lateUs);
    if (lateUs > LATE_READ_US) this.catchUpSinceUs = atUs;
    if (Number.isNaN(this.catchUpSinceUs)) return false;
    const delayUs = (delayFrames * 1e6) / this.deviceRate;
    if (delayUs <= Math.max(this.deviceDelayMaxUs, LATE_READ_US) || atUs - this.catchUpSinceUs > CATCH_UP_US) {
      this.catchUpSinceUs = NaN;
      return delayUs > this.deviceDelayMaxUs; // the reading that ends it still belongs to the backlog when above the hold
    }
    return true;
  }

  /** notes a hold-up of the box (a read or a request `lateUs` late), for what a realignment reports */
  private heldUp(atUs: number, lateUs: number): void {
    if (!(lateUs > LATE_READ_US)) return;
    if (!(atUs - this.lastHoldUp.atUs < HOLD_UP_TOLD_US && this.lastHoldUp.lateUs >= lateUs)) this.lastHoldUp = { atUs, lateUs };
  }

  private realigned(e: CaptureRealignment): void {
    const { atUs, lateUs } = this.lastHoldUp;
    this.emit('realigned', this.clock() - atUs < HOLD_UP_TOLD_US ? { ...e, heldUpMs: Math.round(lateUs / 1000) } : e);
  }

  /** a sound server's report is believed once it has run SETTLE_US, the last STEADY_US of it without a step */
  private settle(atUs: number): void {
    if (Number.isNaN(this.firstReadingUs)) this.firstReadingUs = atUs;
    if (atUs - this.firstReadingUs < SETTLE_US) return;
    if (atUs - (Number.isNaN(this.lastStepUs) ? this.firstReadingUs : this.lastStepUs) < STEADY_US) return;
    this.settled = true;
    this.primed = false;
  }

  private push(pcm: Int16Array): void {
    this.chunks.push(pcm);
    this.level += pcm.length / 2;
    this.readTotal += pcm.length / 2;
    // never more than a second buffered: a stalled engine must not grow memory
    const keep = (this.inputDelayUs * this.deviceRate) / 1e6;
    if (!this.settled) {
      // held while the report settles: only what the first read after it can ask for is kept
      if (this.level > keep) this.discard(Math.round(this.level - keep));
      return;
    }
    if (this.level > keep + this.deviceRate) {
      this.stats.overflows++;
      this.discard(Math.round(this.level - keep));
    }
  }

  // ---- the buffer

  private take(out: Int16Array, frames: number): number {
    let n = 0;
    while (n < frames) {
      const c = this.chunks[0];
      if (!c) break;
      const avail = c.length / 2 - this.head;
      const k = Math.min(avail, frames - n);
      out.set(c.subarray(this.head * 2, (this.head + k) * 2), n * 2);
      n += k;
      this.head += k;
      if (this.head * 2 >= c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.level -= n;
    return n;
  }

  private discard(frames: number): void {
    const scratch = new Int16Array(Math.min(frames, 1 << 16) * 2);
    for (let left = frames; left > 0; ) {
      const n = this.take(scratch.subarray(0, Math.min(left, 1 << 16) * 2), Math.min(left, 1 << 16));
      if (n === 0) break;
      left -= n;
    }
  }

  /** frame `i` frames ahead of the read position (0 when beyond what is buffered) */
  private peek(i: number, ch: number): number {
    let idx = this.head + i;
    for (const c of this.chunks) {
      const f = c.length / 2;
      if (idx < f) return c[idx * 2 + ch]!; // idx < f frames in this chunk, ch is 0 or 1
      idx -= f;
    }
    return 0;
  }

  private resample(out: Int16Array, frames: number, step: number): number {
    let pos = this.frac;
    let n = 0;
    for (; n < frames; n++) {
      const i = Math.floor(pos);
      if (i + 1 >= this.level) break;
      const t = pos - i;
      for (let ch = 0; ch < 2; ch++) out[n * 2 + ch] = Math.round(this.peek(i, ch) * (1 - t) + this.peek(i + 1, ch) * t);
      pos += step;
    }
    const whole = Math.min(Math.floor(pos), this.level);
    this.frac = pos - Math.floor(pos);
    this.discard(whole);
    return n;
  }

  private underrun(missingMs: number): void {
    this.stats.underruns++;
    this.primed = false; // re-align with the next read
    this.realigned({ cause: 'underrun', missingMs });
  }

  private trackSilence(out: Int16Array, n: number): void {
    let peak = 0;
    for (const sample of out.subarray(0, n * 2)) {
      const a = Math.abs(sample);
      if (a > peak) peak = a;
    }
    const silent = peak < this.silenceThreshold || !this.up;
    const now = this.clock();
    if (!silent) {
      if (this.silenceReported) this.emit('silence', { state: 'end', silentForMs: (now - this.silentSinceUs) / 1000 });
      this.silenceReported = false;
      this.silentSinceUs = NaN;
      return;
    }
    if (Number.isNaN(this.silentSinceUs)) this.silentSinceUs = now;
    const forMs = (now - this.silentSinceUs) / 1000;
    if (!this.silenceReported && this.silenceMs > 0 && forMs >= this.silenceMs) {
      this.silenceReported = true;
      this.emit('silence', { state: 'start', silentForMs: forMs });
    }
  }
}
