// Mixes an overlay — an announcement, with its chime — over what the engine plays,
// ducking the music under it: the music's gain ramps down to the duck level, the
// overlay's sources play one after another at full scale, then the music ramps back
// up — or, when another overlay waits, moves to that one's duck level and it follows. It works on the engine's chunks before they enter the FIFO, so every listener
// and the box's own speaker hear it at the same instant (ARCHITECTURE.md "Audio path").

import type { PcmFormat } from '../wire/format.ts';
import type { PcmSource } from './types.ts';

export interface OverlayItem {
  /** played one after another (e.g. a chime, then the speech) */
  sources: PcmSource[];
  /** the music's gain under the overlay, 0..1 (e.g. −12 dB ≈ 0.25) */
  duckGain: number;
  /** called when the music starts to duck for it */
  started?(): void;
  /** called once it is over (the music back at full gain, or the next overlay on), with the error of a source that failed, if one did */
  done(error?: Error): void;
}

type Phase = 'idle' | 'ducking' | 'playing' | 'releasing';

/** −dB → linear gain */
export function dbToGain(db: number): number {
  return 10 ** (-Math.abs(db) / 20);
}

export class OverlayMixer {
  private readonly queue: OverlayItem[] = [];
  private current: OverlayItem | null = null;
  private phase: Phase = 'idle';
  private gain = 1; // the music's gain now
  private readonly step: number; // gain change per frame while ramping (full swing over rampMs)
  private error: Error | undefined;

  constructor(
    private readonly format: PcmFormat,
    rampMs: number,
  ) {
    if (!(rampMs > 0)) throw new RangeError(`ramp must be > 0 ms, got ${rampMs}`);
    this.step = 1000 / (rampMs * format.sampleRate);
  }

  /** Queues an overlay; it starts when the ones before it have finished. */
  play(item: OverlayItem): void {
    this.queue.push(item);
  }

  /** whether an overlay is on now (ducking, playing or releasing) */
  get playing(): boolean {
    return this.phase !== 'idle';
  }

  /** whether anything is on or waiting */
  get busy(): boolean {
    return this.playing || this.queue.length > 0;
  }

  /** how many overlays wait behind the one playing */
  get waiting(): number {
    return this.queue.length;
  }

  /** Mixes into one chunk of the engine's PCM, in place. */
  mix(pcm: Int16Array): void {
    const ch = this.format.channels;
    const frames = pcm.length / ch;
    if (this.phase === 'idle' && !this.startNext()) return;
    let overlay: Int16Array | null = null;
    let overlayFrames = 0;
    let overlayEnded = false;
    if (this.phase === 'playing') ({ pcm: overlay, frames: overlayFrames, ended: overlayEnded } = this.readOverlay(frames));
    for (let frame = 0; frame < frames; frame++) {
      const target = this.phase === 'releasing' || this.phase === 'idle' ? 1 : this.current!.duckGain;
      if (this.gain > target) this.gain = Math.max(target, this.gain - this.step);
      else if (this.gain < target) this.gain = Math.min(target, this.gain + this.step);
      for (let c = 0; c < ch; c++) {
        const at = frame * ch + c;
        const voice = overlay && frame < overlayFrames ? overlay[at]! : 0;
        const mixed = Math.round(pcm[at]! * this.gain) + voice;
        pcm[at] = mixed > 32767 ? 32767 : Math.max(mixed, -32768);
      }
      if (this.phase === 'ducking' && this.gain === this.current!.duckGain) {
        // ducked: the overlay starts with the next chunk (a chunk is 20 ms)
        this.phase = 'playing';
      }
    }
    if (overlayEnded) {
      // the next overlay, if one waits, follows with the music still down; else the music comes back from the next chunk on
      if (this.queue.length > 0) {
        this.finish();
        this.startNext();
      } else {
        this.phase = 'releasing';
      }
    } else if (this.phase === 'releasing' && this.gain === 1) {
      this.finish();
    }
  }

  /** up to `frames` frames of the overlay: its sources in turn; `ended` once the last one has ended */
  private readOverlay(frames: number): { pcm: Int16Array; frames: number; ended: boolean } {
    const ch = this.format.channels;
    const out = new Int16Array(frames * ch);
    let filled = 0;
    const item = this.current!;
    while (filled < frames && item.sources.length > 0) {
      const source = item.sources[0]!;
      const got = source.error ? new Int16Array(0) : source.read(frames - filled);
      out.set(got, filled * ch);
      filled += got.length / ch;
      if (source.error) this.error ??= source.error;
      if (source.error || source.ended) {
        source.close();
        item.sources.shift();
        continue;
      }
      if (got.length === 0) break; // not decoded yet: the music waits ducked, the rest of this chunk is quiet
    }
    return { pcm: out, frames: filled, ended: item.sources.length === 0 };
  }

  private startNext(): boolean {
    const next = this.queue.shift();
    if (!next) return false;
    this.current = next;
    this.error = undefined;
    this.phase = 'ducking';
    next.started?.();
    return true;
  }

  private finish(): void {
    const item = this.current;
    const error = this.error;
    this.current = null;
    this.phase = 'idle';
    item?.done(error);
  }

  /** Drops everything (the engine stops): sources closed, each told it was cut. */
  clear(): void {
    for (const item of [...(this.current ? [this.current] : []), ...this.queue.splice(0)]) {
      for (const source of item.sources.splice(0)) source.close();
      item.done(new Error('stopped'));
    }
    this.current = null;
    this.phase = 'idle';
    this.gain = 1;
  }
}
