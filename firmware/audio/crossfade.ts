// A crossfade between two queue tracks (config `audio.crossfadeMs`): the last frames of
// the track ending play under the first frames of the next, the one fading out
// linearly while the other fades in, so that the overlap is exactly as long as what was
// left of the first when it began. The engine starts one when the next track is open
// and asks for it (a song after a song, not the next track of the same album, which
// plays gapless), and mixes each chunk through `mix`.

import type { PcmSource } from './types.ts';

export interface Outgoing {
  source: PcmSource;
  /** the outgoing track's own linear gain (its loudness gain) */
  gain: number;
}

export class Crossfade {
  private outgoing: Outgoing | null = null;
  /** frames of the overlap, and how many have been mixed */
  private total = 0;
  private done = 0;

  constructor(
    private readonly channels: number,
    /** the longest overlap, in frames (0: no crossfades) */
    readonly maxFrames: number,
  ) {}

  get active(): boolean {
    return this.outgoing !== null;
  }

  /** Whether a track with `left` frames to go should start fading into the next now (at least one chunk of it left). */
  due(left: number | null, chunkFrames: number): boolean {
    return this.maxFrames > 0 && !this.outgoing && left !== null && left <= this.maxFrames && left >= chunkFrames;
  }

  /** `outgoing` has `frames` left: they are mixed, fading out, under what plays next. */
  start(outgoing: Outgoing, frames: number): void {
    this.cancel();
    this.outgoing = outgoing;
    this.total = frames;
    this.done = 0;
  }

  /** Fades the incoming chunk `pcm` in and mixes the outgoing track's next frames under it, fading out. */
  mix(pcm: Int16Array): void {
    const outgoing = this.outgoing;
    if (!outgoing) return;
    const ch = this.channels;
    const frames = pcm.length / ch;
    const got = outgoing.source.error ? new Int16Array(0) : outgoing.source.read(frames);
    for (let frame = 0; frame < frames; frame++) {
      const into = Math.min(1, (this.done + frame) / this.total);
      for (let c = 0; c < ch; c++) {
        const at = frame * ch + c;
        const out = at < got.length ? got[at]! * outgoing.gain * (1 - into) : 0;
        const v = Math.round(pcm[at]! * into + out);
        pcm[at] = v > 32767 ? 32767 : Math.max(v, -32768);
      }
    }
    this.done += frames;
    if (this.done >= this.total || (got.length < frames * ch && (outgoing.source.ended || outgoing.source.error))) this.cancel();
  }

  /** Ends the crossfade at once (a skip, a new source, stop). */
  cancel(): void {
    try {
      this.outgoing?.source.close();
    } catch {
      /* closing is best effort */
    }
    this.outgoing = null;
  }
}
