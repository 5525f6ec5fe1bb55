// A sine generator (and silence at 0 Hz): the `tone:440` / `silence` source specs
// and the tests' deterministic signal. The phase is derived from an integer frame
// counter, so it is continuous across reads and never drifts.

import type { PcmSource } from '../types.ts';
import { DEFAULT_FORMAT, type PcmFormat } from '../../wire/format.ts';

export interface ToneOptions {
  hz: number; // 0 = silence
  amplitude?: number; // 0..1 of full scale, default 0.25
  durationMs?: number; // default: infinite
  format?: PcmFormat;
  /** frames already "played" (for a tone that continues another one) */
  startFrame?: number;
}

export class ToneSource implements PcmSource {
  readonly kind: 'tone' | 'silence';
  readonly description: string;
  readonly error: Error | null = null;
  readonly format: PcmFormat;
  private frame: number;
  private readonly endFrame: number; // Infinity when endless
  private readonly peak: number;
  private readonly hz: number;
  private closed = false;

  constructor(opts: ToneOptions) {
    const { hz, amplitude = 0.25, durationMs } = opts;
    this.format = opts.format ?? DEFAULT_FORMAT;
    if (!Number.isFinite(hz) || hz < 0 || hz >= this.format.sampleRate / 2)
      throw new RangeError(`tone frequency must be 0 (silence) up to below ${this.format.sampleRate / 2} Hz, got ${hz}`);
    if (!Number.isFinite(amplitude) || amplitude < 0 || amplitude > 1) throw new RangeError(`tone amplitude must be 0..1, got ${amplitude}`);
    if (durationMs !== undefined && (!Number.isFinite(durationMs) || durationMs < 0)) throw new RangeError(`tone duration must be ≥ 0 ms, got ${durationMs}`);
    this.hz = hz;
    this.peak = Math.round(amplitude * 32767);
    this.kind = hz === 0 ? 'silence' : 'tone';
    this.frame = opts.startFrame ?? 0;
    this.endFrame = durationMs === undefined ? Infinity : this.frame + Math.round((durationMs * this.format.sampleRate) / 1000);
    this.description = hz === 0 ? 'silence' : `tone ${hz} Hz`;
  }

  get ended(): boolean {
    return this.closed || this.frame >= this.endFrame;
  }

  /** frames left before the end; null when endless */
  remainingFrames(): number | null {
    return this.endFrame === Infinity ? null : Math.max(0, this.endFrame - this.frame);
  }

  /** the sample value of frame `n` (every channel carries the same signal) */
  sampleAt(n: number): number {
    return this.hz === 0 ? 0 : Math.round(this.peak * Math.sin((2 * Math.PI * this.hz * n) / this.format.sampleRate));
  }

  read(frames: number): Int16Array {
    const ch = this.format.channels;
    const n = this.closed ? 0 : Math.max(0, Math.min(Math.floor(frames), this.endFrame - this.frame));
    const out = new Int16Array(n * ch);
    if (this.hz !== 0) {
      for (let i = 0; i < n; i++) {
        const v = this.sampleAt(this.frame + i);
        for (let c = 0; c < ch; c++) out[i * ch + c] = v;
      }
    }
    this.frame += n;
    return out;
  }

  close(): void {
    this.closed = true;
  }
}
