// What the engine plays now and next: it opens each source (at its loudness gain), and in
// queue mode asks for the track after the current file, pre-opening it before the current
// one ends so that it follows gapless, or starts its crossfade over it; when nothing follows,
// it marks where in the chunk the box falls idle. Opening never throws: a source that cannot
// even be constructed becomes an already-failed one, which the engine reports and moves past
// like any source that fails.

import type { Crossfade } from './crossfade.ts';
import type { PcmSource, StreamTitle } from './types.ts';
import { defaultOpenSource, isQueueTrack, sourceLabel, type SourceSpec } from './sources/source-spec.ts';
import type { PcmFormat } from '../wire/format.ts';

/** the queue's next track: a file (at `gainDb`, the loudness gain), or (`spec`) another kind of source, such as a music server's track */
export interface NextTrack {
  path: string;
  trackId: string;
  gainDb?: number;
  spec?: SourceSpec;
  /** fade into it from the track before (when `crossfadeMs` is set); false: gapless, as the next track of an album */
  crossfade?: boolean;
}

/** A source as the engine holds it. `gain`: the linear gain applied to the source's samples (1: none) */
export interface PlayingSource {
  spec: SourceSpec;
  source: PcmSource;
  framesRead: number;
  heard: boolean;
  gain: number;
  title: StreamTitle | null;
  /** the track before it fades into it */
  crossfade: boolean;
}

/** the engine's options read here, each when it is needed (AudioEngineOptions says what they mean) */
export interface SourceSequenceOptions {
  openSource?: (spec: SourceSpec) => PcmSource;
  nextTrack?: () => NextTrack | null;
  preopenMs?: number;
}

export class SourceSequence {
  private cur: PlayingSource | null = null;
  private prefetched: PlayingSource | null = null;
  private prefetchAsked = false;
  private idleAt: number | null = null; // frame offset in the next chunk where nothing plays any more

  constructor(
    private readonly format: PcmFormat,
    private readonly framesPerChunk: number,
    private readonly crossfade: Crossfade,
    private readonly options: SourceSequenceOptions,
    /** asking for the next track threw */
    private readonly failed: (error: Error) => void,
  ) {}

  /** what plays now (null: nothing) */
  get current(): PlayingSource | null {
    return this.cur;
  }

  /** Plays `spec` from now on (null: nothing). */
  set(spec: SourceSpec | null): void {
    closeSource(this.cur);
    closeSource(this.prefetched);
    this.prefetched = null;
    this.cur = spec ? this.open(spec) : null;
    this.prefetchAsked = false;
    if (!this.cur) this.idleAt = 0;
  }

  /** Closes what plays and what is pre-opened (the engine stops). */
  close(): void {
    closeSource(this.cur);
    closeSource(this.prefetched);
    this.cur = this.prefetched = null;
  }

  /**
   * Forgets the pre-opened next track (the queue changed after it was asked for);
   * nextTrack() is asked again when the current track ends.
   */
  dropPrefetched(): void {
    closeSource(this.prefetched);
    this.prefetched = null;
  }

  /** The current track is within the crossfade of its end and the next, open, asks for one: the next starts now, over it. */
  maybeCrossfade(): void {
    const cur = this.cur;
    const next = this.prefetched;
    if (!cur || !next?.crossfade || !isQueueTrack(cur.spec) || cur.source.error) return;
    const left = remainingFrames(cur.source);
    if (left === null || !this.crossfade.due(left, this.framesPerChunk)) return;
    this.crossfade.start({ source: cur.source, gain: cur.gain }, left);
    this.prefetched = null;
    this.prefetchAsked = false;
    this.cur = next;
  }

  /** where in the next chunk nothing plays any more (null: something does), told once */
  takeIdle(): number | null {
    const idleAt = this.idleAt;
    this.idleAt = null;
    return idleAt;
  }

  /** Moves to the next source, `offset` frames into the chunk; false when there is none (idle). */
  advance(offset = 0): boolean {
    const old = this.cur;
    closeSource(old);
    let next = this.prefetched;
    this.prefetched = null;
    this.prefetchAsked = false;
    if (!next && (old === null || isQueueTrack(old.spec))) next = this.openNextTrack();
    this.cur = next;
    if (!next && old) this.idleAt = offset;
    return next !== null;
  }

  maybePrefetch(): void {
    const cur = this.cur;
    if (!cur || this.prefetched || this.prefetchAsked || !this.options.nextTrack || !isQueueTrack(cur.spec)) return;
    const left = remainingFrames(cur.source);
    const preopen = Math.max(((this.options.preopenMs ?? 3000) * this.format.sampleRate) / 1000, this.crossfade.maxFrames + this.format.sampleRate);
    if (left === null || left > preopen) return;
    this.prefetchAsked = true;
    this.prefetched = this.openNextTrack();
  }

  private openNextTrack(): PlayingSource | null {
    if (!this.options.nextTrack) return null;
    let t: NextTrack | null;
    try {
      t = this.options.nextTrack();
    } catch (err) {
      this.failed(err as Error);
      return null;
    }
    if (!t) return null;
    const next = this.open(t.spec ?? { kind: 'file', path: t.path, trackId: t.trackId, ...(t.gainDb ? { gainDb: t.gainDb } : {}) });
    next.crossfade = t.crossfade ?? false;
    return next;
  }

  /** Opens a source; a source that cannot even be constructed becomes an already-failed one. */
  private open(given: SourceSpec): PlayingSource {
    // a crossfade longer than the decoder's usual look-ahead needs the file's end known that early
    const spec =
      given.kind === 'file' && this.crossfade.maxFrames > 2 * this.format.sampleRate
        ? { ...given, bufferMs: (this.crossfade.maxFrames * 1000) / this.format.sampleRate + 1500 }
        : given;
    let source: PcmSource;
    try {
      source = (this.options.openSource ?? ((s: SourceSpec) => defaultOpenSource(s, this.format)))(spec);
    } catch (err) {
      source = failedSource(spec, err as Error);
    }
    const gainDb = spec.kind === 'file' ? (spec.gainDb ?? 0) : 0;
    return { spec, source, framesRead: 0, heard: false, gain: Number.isFinite(gainDb) ? 10 ** (gainDb / 20) : 1, title: null, crossfade: false };
  }
}

/** frames a source still has before its end, if it knows (FileSource after decoding, timed ToneSource) */
export function remainingFrames(source: PcmSource): number | null {
  const f = (source as { remainingFrames?: () => number | null }).remainingFrames;
  return typeof f === 'function' ? f.call(source) : null;
}

function closeSource(c: PlayingSource | null): void {
  try {
    c?.source.close();
  } catch {
    /* closing is best effort */
  }
}

function failedSource(spec: SourceSpec, error: Error): PcmSource {
  return {
    kind: spec.kind,
    description: `${spec.kind} ${sourceLabel(spec)}`,
    ended: false,
    error,
    read: () => new Int16Array(0),
    close: () => {},
  };
}
