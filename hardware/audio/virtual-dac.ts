// The simulated twin of a sound card: it consumes frames at its own crystal rate
// (sampleRate × (1 + ppm·1e-6), measured against the monotonic clock), reports its
// queue delay like snd_pcm_delay, plays silence on underrun, and records when each
// written frame left it — the ground truth sync is measured against.

import type { PcmFormat } from '../../firmware/wire/format.ts';
import type { PcmSink, SinkStatus } from './pcm-sink.ts';
import { PacedClock, realSinkClock, waitForRoom, type SinkClock } from './paced-clock.ts';

export interface VirtualDacOptions {
  /** crystal error vs the system clock, parts per million (default 0) */
  ppm?: number;
  /** device buffer, ms (default 100); write() waits while it is full */
  bufferMs?: number;
  /** keep every written sample for inspection (tests); default false */
  keepSamples?: boolean;
  /** injected clock (default: monotonicUs + setTimeout) */
  clock?: SinkClock;
  name?: string;
}

export class VirtualDac implements PcmSink {
  readonly name: string;
  readonly clocked = true;
  readonly ppm: number;
  readonly bufferFrames: number;
  private readonly clock: SinkClock;
  private readonly keepSamples: boolean;
  private paced: PacedClock | null = null;
  private closed = false;
  private kept: Int16Array[] = [];
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly format: PcmFormat,
    opts: VirtualDacOptions = {},
  ) {
    const ppm = opts.ppm ?? 0;
    if (!Number.isFinite(ppm) || Math.abs(ppm) >= 1e5) {
      throw new Error(`VirtualDac: ppm must be a finite number below ±100000, got ${ppm}`);
    }
    const bufferMs = opts.bufferMs ?? 100;
    if (!Number.isFinite(bufferMs) || bufferMs <= 0) {
      throw new Error(`VirtualDac: bufferMs must be positive, got ${bufferMs}`);
    }
    if (!Number.isInteger(format.sampleRate) || format.sampleRate <= 0 || !Number.isInteger(format.channels) || format.channels <= 0) {
      throw new Error(`VirtualDac: bad format ${JSON.stringify(format)}`);
    }
    this.ppm = ppm;
    this.bufferFrames = Math.max(1, Math.round((format.sampleRate * bufferMs) / 1000));
    this.clock = opts.clock ?? realSinkClock;
    this.keepSamples = opts.keepSamples ?? false;
    this.name = opts.name ?? `sim:${ppm >= 0 ? '+' : ''}${ppm}`;
  }

  /** Frames per second this DAC really consumes. */
  get actualRate(): number {
    return this.format.sampleRate * (1 + this.ppm * 1e-6);
  }

  /** Frames written since open. */
  get framesWritten(): number {
    return this.paced?.written ?? 0;
  }

  async open(): Promise<void> {
    this.paced = new PacedClock(this.actualRate, this.bufferFrames);
    this.kept = [];
    this.closed = false;
  }

  write(pcm: Int16Array): Promise<SinkStatus> {
    // Writes queue behind each other, as they would on a blocking device.
    const next = this.tail.then(() => this.writeNow(pcm));
    this.tail = next.catch(() => undefined);
    return next;
  }

  async status(): Promise<SinkStatus> {
    return this.snapshot(this.requireOpen());
  }

  /** Stops accepting writes; the record of what left the DAC stays readable. */
  async close(): Promise<void> {
    this.closed = true;
  }

  /** Monotonic time (µs) at which the n-th frame ever written (0-based) left the DAC. */
  frameOutTimeUs(deviceFrameIndex: number): number {
    if (!this.paced) throw new Error(`VirtualDac ${this.name}: never opened`);
    return this.paced.frameOutUs(deviceFrameIndex);
  }

  /** All samples written since open, interleaved (only with keepSamples). */
  samples(): Int16Array {
    if (!this.keepSamples) throw new Error('VirtualDac: samples() needs the keepSamples option');
    const total = this.kept.reduce((n, a) => n + a.length, 0);
    const out = new Int16Array(total);
    let at = 0;
    for (const a of this.kept) {
      out.set(a, at);
      at += a.length;
    }
    return out;
  }

  private async writeNow(pcm: Int16Array): Promise<SinkStatus> {
    const paced = this.requireOpen();
    if (pcm.length % this.format.channels !== 0) {
      throw new Error(`VirtualDac: ${pcm.length} samples is not a whole number of ${this.format.channels}-channel frames`);
    }
    const frames = pcm.length / this.format.channels;
    await waitForRoom(paced, frames, this.clock);
    if (this.paced !== paced || this.closed) throw new Error(`VirtualDac ${this.name}: closed while writing`);
    paced.commit(frames, this.clock.nowUs());
    if (this.keepSamples) this.kept.push(pcm.slice());
    return this.snapshot(paced);
  }

  private snapshot(paced: PacedClock): SinkStatus {
    const atUs = this.clock.nowUs();
    return { delayFrames: Math.round(paced.delayFrames(atUs)), atUs, underruns: paced.underruns };
  }

  private requireOpen(): PacedClock {
    if (!this.paced || this.closed) throw new Error(`VirtualDac ${this.name}: not open`);
    return this.paced;
  }
}
