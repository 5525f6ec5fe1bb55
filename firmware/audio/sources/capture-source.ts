// Live input: an ALSA capture PCM (line-in, USB interface, a loopback or PulseAudio
// monitor) as a PcmSource whose samples keep their capture instants.
//
// Timing model. Every sample the device delivers has an index k (frames since the
// source started) and an instant it entered the ADC:
//     instant(k) = offset + k / deviceRate
// Each read gives one reading of `offset`: the read returned at atUs with the device
// holding `delay` more frames (snd_pcm_delay on a capture PCM: captured, not yet
// read), so frame (read so far + delay) was being digitized at atUs. Readings are
// coarse: mostly late (a thread scheduled late; PulseAudio's delay moves in ~2.5 ms
// steps), now and then early (the server overstating its delay for a moment). The
// model takes the lower quartile of the last 2 s of readings (capture-timing.ts): it
// follows drift and a step that persists, and no single reading moves it. Through
// PulseAudio that lands within ~1 ms of an independent recording of the same monitor
// (test/integration/live-input-timing.test.ts); the minimum, taken first, followed
// the early outliers and wandered by up to 10 ms. A device that cannot report its
// delay counts as delivering each frame when read; a file-backed PCM, paced here by
// the box clock, delivers frame k exactly at open + k / rate.
//
// Before this model the engine played the oldest frames of an elastic buffer kept
// at 80 ms, on top of the device's own ~13 ms, and stamped them with the time of
// the read: a click left every listener ~90–100 ms later than capture + latencyMs.
//
// The engine asks for the samples that entered at an instant (the chunk's playAt
// minus latencyMs), a fixed CAPTURE_DELAY_MS behind its clock: that is the room the
// device's buffering, the read size and scheduling get. The source keeps a read
// position in sample indices and steers it onto instant⁻¹(asked): within ±bandMs it
// leaves it alone (frames pass through untouched, sample-exact); beyond, it resamples
// by at most 0.1 % (linear interpolation, inaudible) until the error is below a
// quarter of the band; beyond hardMs (at start, after a reopen or a step in the
// device's timing) it jumps. Frames not yet captured when asked for play as silence
// and are skipped when they arrive, so the position never slips against time.
//
// The stream never stops for a device problem: while the PCM is missing, busy,
// unplugged or silent-stuck the source returns silence, reports the error once, and
// reopens with exponential backoff.

import { EventEmitter } from 'node:events';
import type { CaptureDevice } from '../../../hardware/audio/alsa-capture.ts';
import { DEFAULT_FORMAT, type PcmFormat } from '../../wire/format.ts';
import { monotonicUs } from '../../util/time.ts';
import type { PcmSource } from '../types.ts';
import { CaptureTiming } from './capture-timing.ts';

/**
 * How far behind its clock the engine takes captured samples (engine inputDelayMs):
 * the device's own buffering (a sound server's fragment, ~15 ms on PulseAudio), one
 * read (≤ 20 ms), one chunk (20 ms) and room for a late thread.
 */
export const CAPTURE_DELAY_MS = 80;
const READ_MS = 20; // the most one read asks of the device
const UNCLOCKED_AHEAD_MS = 100; // how far ahead of its schedule a file-backed PCM is read
const MAX_BUFFER_MS = 2000; // never more buffered: a stalled engine must not grow memory

export interface CaptureSourceOptions {
  format?: PcmFormat;
  clock?: () => number; // µs
  /** instant asked for when the caller gives none: this long before now (default CAPTURE_DELAY_MS) */
  delayMs?: number;
  bandMs?: number; // the read position is steered only once it is this far off (default 1)
  hardMs?: number; // further off than this, it jumps (default 5)
  /** readings of a just-opened clocked device are not trusted this long (default 1000): silence meanwhile */
  settleMs?: number;
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

interface Block { start: number; pcm: Int16Array } // captured frames start..start+n (indices)

export class CaptureSource extends EventEmitter<CaptureSourceEvents> implements PcmSource {
  readonly kind = 'capture' as const;
  readonly description: string;
  readonly ended = false;
  readonly error: Error | null = null;
  readonly format: PcmFormat;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly delayUs: number;
  private readonly bandMs: number;
  private readonly hardMs: number;
  private readonly settleUs: number;
  private openedAtUs = NaN;
  private readonly maxRatio: number;
  private readonly stallMs: number;
  private readonly retryMs: [number, number];
  private readonly silenceThreshold: number;
  private readonly silenceMs: number;
  // captured s16 stereo at the device rate, by frame index since the source started
  private blocks: Block[] = [];
  private capturedEnd = 0; // index after the newest captured frame
  private nextInstantUs = NaN; // the instant after the last read's samples
  private position = NaN; // index (fractional while resampling) of the next frame to play; NaN: not placed yet
  private deviceRate = 0;
  private timing: CaptureTiming | null = null;
  private correcting = false;
  private closed = false;
  private up = false;
  private silentSinceUs = NaN;
  private silenceReported = false;
  /** lastErrorUs: where the last read started against the instant asked for (+: samples newer than asked) */
  readonly stats = { overflows: 0, underruns: 0, corrections: 0, realigns: 0, reopens: 0, framesCaptured: 0, lastErrorUs: 0 };

  constructor(private readonly device: CaptureDevice, opts: CaptureSourceOptions = {}) {
    super();
    this.format = opts.format ?? DEFAULT_FORMAT;
    if (this.format.channels !== 2 || this.format.bitsPerSample !== 16) throw new Error('capture: the stream format must be 16-bit stereo');
    this.clock = opts.clock ?? monotonicUs;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.delayUs = (opts.delayMs ?? CAPTURE_DELAY_MS) * 1000;
    this.bandMs = opts.bandMs ?? 1;
    this.hardMs = opts.hardMs ?? 5;
    this.settleUs = (opts.settleMs ?? 1000) * 1000;
    this.maxRatio = opts.maxRatio ?? 0.001;
    this.stallMs = opts.stallMs ?? 2000;
    this.retryMs = opts.retryMs ?? [500, 30_000];
    this.silenceThreshold = opts.silenceThreshold ?? 64;
    this.silenceMs = opts.silenceMs ?? 30_000;
    if (opts.silentAlready) { this.silenceReported = true; this.silentSinceUs = this.clock(); }
    this.description = `capture:${device.name}`;
    void this.run();
  }

  /** true while the device delivers */
  get deviceUp(): boolean {
    return this.up;
  }

  /** frames captured and not yet played (at the device rate) */
  get bufferedFrames(): number {
    return Number.isNaN(this.position) ? 0 : Math.max(0, this.capturedEnd - Math.floor(this.position));
  }

  /**
   * The `frames` output frames whose first entered the device at `instantUs`
   * (default: delayMs before now). Silence where nothing was captured for them.
   */
  read(frames: number, instantUs?: number): Int16Array {
    const out = new Int16Array(frames * 2);
    const timing = this.timing;
    if (!this.up || !timing?.known) {
      this.position = NaN;
      this.trackSilence(out);
      return out;
    }
    const rate = this.deviceRate;
    const asked = instantUs ?? this.nextInstant();
    this.nextInstantUs = asked + (frames * 1e6) / this.format.sampleRate;
    const target = timing.indexAt(asked);
    const errFrames = Number.isNaN(this.position) ? Infinity : this.position - target;
    const errMs = (errFrames * 1000) / rate;
    if (Math.abs(errMs) > this.hardMs) {
      // first read, a reopened device or a step in its timing that persisted: jump
      if (!Number.isNaN(this.position)) this.stats.realigns++;
      this.position = Math.round(target);
      this.correcting = false;
    } else {
      if (Math.abs(errMs) > this.bandMs) this.correcting = true;
      else if (Math.abs(errMs) < this.bandMs / 4) this.correcting = false;
    }
    this.stats.lastErrorUs = Number.isFinite(errMs) ? errMs * 1000 : 0;
    // +err: the position is ahead of the instant asked for (newer samples): advance slower
    const correction = this.correcting ? Math.max(-this.maxRatio, Math.min(this.maxRatio, (errMs / this.bandMs) * this.maxRatio)) : 0;
    if (correction !== 0) this.stats.corrections++;
    const step = (rate / this.format.sampleRate) * (1 - correction);
    const end = this.position + frames * step;
    if (Math.ceil(end) > this.capturedEnd) this.stats.underruns++; // not captured yet: silence, skipped on arrival
    if (step === 1 && Number.isInteger(this.position)) this.copy(out, this.position, frames);
    else this.interpolate(out, this.position, frames, step);
    this.position = end;
    this.dropBefore(Math.floor(end));
    this.trackSilence(out);
    return out;
  }

  /**
   * A caller that gives no instants (a timer reading chunk after chunk) gets the
   * samples after the ones it had: its own timer's lateness must not move them. Only
   * once that drifts far from delayMs behind the clock is it placed there again.
   */
  private nextInstant(): number {
    const due = this.clock() - this.delayUs;
    const next = this.nextInstantUs;
    return Number.isNaN(next) || Math.abs(next - due) > this.delayUs / 2 ? due : next;
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
        // a new stream: its frames start a new timeline
        this.timing = new CaptureTiming(info.rate);
        this.openedAtUs = this.clock();
        this.blocks = [];
        this.position = NaN;
        this.up = true;
        backoff = this.retryMs[0];
        this.emit('device-ok', { device: this.device.name, rate: info.rate, clocked: info.clocked });
        await this.readLoop(info);
      } catch (e) {
        if (this.closed) break;
        this.up = false;
        this.position = NaN;
        this.emit('device-error', { device: this.device.name, message: (e as Error).message, retryInMs: backoff });
        await this.device.close().catch(() => undefined);
        this.stats.reopens++;
        await this.sleep(backoff);
        backoff = Math.min(this.retryMs[1], backoff * 2);
      }
    }
  }

  private async readLoop(info: { rate: number; clocked: boolean; periodFrames: number }): Promise<void> {
    const period = Math.max(64, Math.min(info.periodFrames || 480, Math.round((info.rate * READ_MS) / 1000)));
    const startUs = this.clock();
    let captured = 0;
    while (!this.closed) {
      if (!info.clocked) {
        // a file-backed PCM delivers as fast as it is read: take it at the rate of time,
        // a little ahead, so that a stalled event loop does not leave the engine without it
        const due = ((this.clock() - startUs + UNCLOCKED_AHEAD_MS * 1000) * info.rate) / 1e6;
        if (captured + period > due) { await this.sleep(Math.max(1, ((captured + period - due) * 1000) / info.rate)); continue; }
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
      // paced here, a file-backed PCM's frames enter exactly on the schedule they are read by
      this.push(pcm, info.clocked ? null : startUs + (captured * 1e6) / info.rate);
    }
  }

  /** `pacedAtUs`: when the newest of these frames entered, for a device paced by this source */
  private push(pcm: Int16Array, pacedAtUs: number | null): void {
    this.blocks.push({ start: this.capturedEnd, pcm });
    this.capturedEnd += pcm.length / 2;
    const r = this.device.lastRead;
    const delay = r && r.delayFrames !== null ? r.delayFrames : 0;
    const reading = pacedAtUs !== null ? { atUs: pacedAtUs, frameIndex: this.capturedEnd } : { atUs: r ? r.atUs : this.clock(), frameIndex: this.capturedEnd + delay };
    // PulseAudio overstates its delay for the first ~0.7 s of a stream (by ~340 ms once)
    if (pacedAtUs !== null || this.clock() - this.openedAtUs >= this.settleUs) this.timing?.add(reading);
    const maxFrames = (MAX_BUFFER_MS * this.deviceRate) / 1000;
    if (this.bufferedTotal() > maxFrames) {
      this.stats.overflows++; // nobody reads: keep the newest
      this.dropBefore(this.capturedEnd - maxFrames / 2);
    }
  }

  // ---- the buffer, addressed by frame index

  private bufferedTotal(): number {
    return this.blocks.length ? this.capturedEnd - this.blocks[0].start : 0;
  }

  private dropBefore(index: number): void {
    while (this.blocks.length && this.blocks[0].start + this.blocks[0].pcm.length / 2 <= index) this.blocks.shift();
  }

  /** whole frames from `index` on; anything not in the buffer stays silent */
  private copy(out: Int16Array, index: number, frames: number): void {
    for (const b of this.blocks) {
      const n = b.pcm.length / 2;
      const from = Math.max(index, b.start);
      const to = Math.min(index + frames, b.start + n);
      if (to > from) out.set(b.pcm.subarray((from - b.start) * 2, (to - b.start) * 2), (from - index) * 2);
    }
  }

  /** `frames` output frames from position `pos` on, `step` input frames apart (linear interpolation) */
  private interpolate(out: Int16Array, pos: number, frames: number, step: number): void {
    const first = Math.floor(pos);
    const span = Math.ceil(pos + frames * step) - first + 2;
    const src = new Int16Array(span * 2);
    this.copy(src, first, span);
    for (let n = 0; n < frames; n++) {
      const p = pos + n * step - first;
      const i = Math.floor(p);
      const t = p - i;
      for (let ch = 0; ch < 2; ch++) out[n * 2 + ch] = Math.round(src[i * 2 + ch] * (1 - t) + src[(i + 1) * 2 + ch] * t);
    }
  }

  private trackSilence(out: Int16Array): void {
    let peak = 0;
    for (let i = 0; i < out.length; i++) { const a = Math.abs(out[i]); if (a > peak) peak = a; }
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
