// Live input: an ALSA capture PCM (line-in, USB interface, a loopback or PulseAudio
// monitor) as a PcmSource. The device delivers periods on its own crystal; the
// engine pulls chunks on the box clock. Between them an elastic buffer: kept near a
// target level, and when drift carries it out of a band around that level the
// source resamples by at most 0.1 % (linear interpolation, inaudible) until it is
// back near the target. Inside the band frames pass through untouched, so a capture
// whose clock matches the box's stays sample-exact.
//
// The stream never stops for a device problem: while the PCM is missing, busy,
// unplugged or silent-stuck the source returns silence, reports the error once, and
// reopens with exponential backoff.

import { EventEmitter } from 'node:events';
import type { CaptureDevice } from '../../../hardware/audio/alsa-capture.ts';
import { DEFAULT_FORMAT, type PcmFormat } from '../../wire/format.ts';
import { monotonicUs } from '../../util/time.ts';
import type { PcmSource } from '../types.ts';

const LEVEL_SMOOTHING = 0.04; // per chunk: a time constant of ~25 chunks

export interface CaptureSourceOptions {
  format?: PcmFormat;
  clock?: () => number; // µs
  targetMs?: number; // elastic buffer level aimed at (default 80)
  bandMs?: number; // drift is corrected only once the level leaves ±band around the target (default 30)
  maxRatio?: number; // largest resampling correction (default 0.001 = 0.1 %)
  stallMs?: number; // a read that takes longer is a device that stopped delivering (default 2000)
  retryMs?: [number, number]; // reopen backoff, first and longest (default 500, 30000)
  silenceThreshold?: number; // peak below this (of 32767) is silence (default 64, about −54 dBFS)
  silenceMs?: number; // silence this long is reported (default 30000; 0 = never)
  silentAlready?: boolean; // the input is known silent (its start was reported): report only its end
  sleep?: (ms: number) => Promise<void>;
}

export interface CaptureSourceEvents {
  'device-error': [{ device: string; message: string; retryInMs: number }];
  'device-ok': [{ device: string; rate: number; clocked: boolean }];
  /** the input stayed silent for silenceMs (start), or sound came back after that (end) */
  silence: [{ state: 'start' | 'end'; silentForMs: number }];
}

export class CaptureSource extends EventEmitter<CaptureSourceEvents> implements PcmSource {
  readonly kind = 'capture' as const;
  readonly description: string;
  readonly ended = false;
  readonly error: Error | null = null;
  readonly format: PcmFormat;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly targetFrames: number;
  private readonly bandFrames: number;
  private readonly maxRatio: number;
  private readonly stallMs: number;
  private readonly retryMs: [number, number];
  private readonly silenceThreshold: number;
  private readonly silenceMs: number;
  // elastic buffer: captured s16 stereo at the device rate
  private chunks: Int16Array[] = [];
  private head = 0; // frames already consumed from chunks[0]
  private level = 0; // frames buffered
  private frac = 0; // fractional read position (resampling)
  private deviceRate = 0;
  private primed = false;
  private avgLevel = NaN;
  private correcting = false;
  private closed = false;
  private up = false;
  private silentSinceUs = NaN;
  private silenceReported = false;
  readonly stats = { overflows: 0, underruns: 0, corrections: 0, reopens: 0, framesCaptured: 0 };

  constructor(
    private readonly device: CaptureDevice,
    opts: CaptureSourceOptions = {},
  ) {
    super();
    this.format = opts.format ?? DEFAULT_FORMAT;
    if (this.format.channels !== 2 || this.format.bitsPerSample !== 16) throw new Error('capture: the stream format must be 16-bit stereo');
    this.clock = opts.clock ?? monotonicUs;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    const rate = this.format.sampleRate;
    this.targetFrames = Math.round(((opts.targetMs ?? 80) * rate) / 1000);
    this.bandFrames = Math.round(((opts.bandMs ?? 30) * rate) / 1000);
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

  /** true while the device delivers */
  get deviceUp(): boolean {
    return this.up;
  }

  /** frames buffered between the device and the engine (at the device rate) */
  get bufferedFrames(): number {
    return this.level;
  }

  read(frames: number): Int16Array {
    const out = new Int16Array(frames * 2);
    if (!this.primed) {
      if (this.level < this.targetFrames) {
        // silence until the buffer holds its target
        this.trackSilence(out, 0);
        return out;
      }
      this.primed = true;
    }
    // input frames per output frame: the rate conversion, and the drift correction,
    // steered by the level averaged over ~0.5 s (device periods and scheduling
    // jitter move the instant level by more than drift does in minutes)
    const mid = this.level - (frames * this.deviceRate) / this.format.sampleRate / 2;
    this.avgLevel = Number.isNaN(this.avgLevel) ? mid : this.avgLevel + (mid - this.avgLevel) * LEVEL_SMOOTHING;
    const err = this.avgLevel - this.targetFrames;
    if (Math.abs(err) > this.bandFrames) this.correcting = true;
    else if (Math.abs(err) < this.bandFrames / 4) this.correcting = false;
    const correction = this.correcting ? Math.max(-this.maxRatio, Math.min(this.maxRatio, (err / this.bandFrames) * this.maxRatio)) : 0;
    if (correction !== 0) this.stats.corrections++;
    const step = (this.deviceRate / this.format.sampleRate) * (1 + correction);
    if (step === 1 && this.frac === 0) {
      const n = this.take(out, frames);
      if (n < frames) this.underrun();
      this.trackSilence(out, n);
      return out;
    }
    const n = this.resample(out, frames, step);
    if (n < frames) this.underrun();
    this.trackSilence(out, n);
    return out;
  }

  close(): void {
    this.closed = true;
    void this.device.close();
  }

  // ---- the device side

  private async run(): Promise<void> {
    let backoff = this.retryMs[0];
    while (!this.closed) {
      try {
        const info = await this.device.open();
        if (this.closed) break;
        this.deviceRate = info.rate;
        this.up = true;
        backoff = this.retryMs[0];
        this.emit('device-ok', { device: this.device.name, rate: info.rate, clocked: info.clocked });
        await this.readLoop(info);
      } catch (e) {
        if (this.closed) break;
        this.up = false;
        this.primed = false;
        this.avgLevel = NaN;
        this.emit('device-error', { device: this.device.name, message: (e as Error).message, retryInMs: backoff });
        await this.device.close().catch(() => undefined);
        this.stats.reopens++;
        await this.sleep(backoff);
        backoff = Math.min(this.retryMs[1], backoff * 2);
      }
    }
  }

  private async readLoop(info: { rate: number; clocked: boolean; periodFrames: number }): Promise<void> {
    const period = Math.max(64, Math.min(info.periodFrames || 480, Math.round(info.rate / 50)));
    const startUs = this.clock();
    let captured = 0;
    while (!this.closed) {
      if (!info.clocked) {
        // a file-backed PCM delivers as fast as it is read: take it at the rate of time
        const due = ((this.clock() - startUs) * info.rate) / 1e6;
        if (captured + period > due) {
          await this.sleep(Math.max(1, ((captured + period - due) * 1000) / info.rate));
          continue;
        }
      }
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`capture '${this.device.name}': the device stopped delivering (no audio for ${this.stallMs} ms)`)), this.stallMs);
      });
      let pcm: Int16Array;
      try {
        pcm = await Promise.race([this.device.read(period), stalled]);
      } finally {
        clearTimeout(timer);
      }
      if (pcm.length === 0) throw new Error(`capture '${this.device.name}': the device ended (no more frames)`);
      captured += pcm.length / 2;
      this.stats.framesCaptured += pcm.length / 2;
      this.push(pcm);
    }
  }

  private push(pcm: Int16Array): void {
    this.chunks.push(pcm);
    this.level += pcm.length / 2;
    // never more than a second buffered: a stalled engine must not grow memory
    const max = this.targetFrames + this.deviceRate;
    if (this.level > max) {
      this.stats.overflows++;
      this.discard(this.level - this.targetFrames);
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

  private underrun(): void {
    this.stats.underruns++;
    this.primed = false; // refill to the target before playing on
    this.avgLevel = NaN;
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
