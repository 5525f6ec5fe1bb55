// The playback side of the box: the play queue over the library, driving the
// audio engine; what handlers, buttons and the state topic see as "now playing".

import { EventEmitter } from 'node:events';
import { parseSourceSpec, type AudioEngine, type TrackEvent } from '../audio/engine.ts';
import { PlayQueue, type PlayQueueJSON } from '../audio/play-queue.ts';
import type { LibraryIndex } from '../library/search.ts';
import type { Track } from '../library/track.ts';
import type { ControlAction } from '../wire/requests.ts';

export interface NowPlaying {
  state: 'playing' | 'paused' | 'idle';
  track: Pick<Track, 'id' | 'title' | 'artist' | 'album' | 'durationMs'> | null;
  positionMs: number;
  volume: number;
  source: string;
}

/** The playback side as handlers use it (implemented by Playback below). */
export interface PlaybackControl {
  nowPlaying(): NowPlaying;
  playNow(track: Track): void;
  enqueue(track: Track): number; // position in the queue
  queue(): Track[];
  control(action: ControlAction): void;
  setVolume(volume: number): number;
  /** switches what the box plays: 'library' or one of sources(); throws a RangeError naming the choices otherwise */
  selectSource(source: string): string;
  /** what selectSource accepts */
  sources(): string[];
}

export interface PlaybackEvents {
  change: [];
  /** the box volume changed: it sets the box's own speaker, the stream stays at full scale */
  volume: [number];
  /** the track listeners hear changed (emitted when it starts being heard) */
  track: [Track | null];
}

export interface PlaybackOptions {
  engine: AudioEngine;
  library: LibraryIndex;
  clock: () => number; // µs, the engine's clock
  /** what the box plays at start: 'library' or a live source spec (config `source`) */
  sourceLabel: string;
  /** further live sources the owner may switch to (config `sources`) */
  liveSources?: string[];
  initialVolume: number;
  queue?: PlayQueueJSON;
  /** where the current track was when the box last saved (it resumes there after a restart) */
  resume?: TrackPosition;
  repeat: 'all' | 'none';
}

/** a point in a library track, as the box saves it */
export interface TrackPosition {
  trackId: string;
  ms: number;
}

export class Playback extends EventEmitter<PlaybackEvents> implements PlaybackControl {
  readonly queueModel: PlayQueue;
  private heard: Track | null = null;
  private heardTimer: NodeJS.Timeout | null = null;
  private vol: number;
  private mode: string; // 'library' or the live source's spec
  private resumeAt: TrackPosition | null;

  constructor(private readonly options: PlaybackOptions) {
    super();
    const lib = () => options.library.all().map((t) => t.id);
    let q: PlayQueue;
    try {
      const saved = options.queue && keepKnownTracks(options.queue, (id) => !!options.library.get(id));
      q = saved ? PlayQueue.fromJSON(saved, { library: lib }) : new PlayQueue({ library: lib, repeat: options.repeat });
    } catch {
      q = new PlayQueue({ library: lib, repeat: options.repeat });
    }
    this.queueModel = q;
    this.vol = options.initialVolume;
    this.mode = options.sourceLabel;
    this.resumeAt = options.resume ?? null;
    options.engine.on('track', (e) => this.onTrack(e));
  }

  /** The engine asks for the following track (a few seconds early, to pre-open it). */
  nextTrack = (): { path: string; trackId: string } | null => {
    for (let tries = 0; tries < 8; tries++) {
      const id = this.queueModel.next();
      if (!id) return null;
      const t = this.options.library.get(id);
      if (t) return { path: t.path, trackId: t.id };
    }
    return null;
  };

  /**
   * Starts the queue (or the library) when the box boots with the library source.
   * The first start after a restart continues the saved track where it was, so
   * listeners who rejoin hear the song go on (README.md "Reliability"). Returns
   * where in which track it started (null: nothing to play).
   */
  startQueue(): TrackPosition | null {
    this.mode = 'library';
    const id = this.queueModel.current() ?? this.queueModel.next();
    const t = id ? this.options.library.get(id) : undefined;
    const resume = this.resumeAt;
    this.resumeAt = null;
    const startMs = resume && t && resume.trackId === t.id && resume.ms < t.durationMs ? resume.ms : 0;
    if (!t) return null;
    this.options.engine.setSource({ kind: 'file', path: t.path, trackId: t.id, ...(startMs > 0 ? { startMs } : {}) });
    return { trackId: t.id, ms: startMs };
  }

  private onTrack(e: TrackEvent): void {
    const track = e.trackId ? this.options.library.get(e.trackId) ?? null : null;
    // listeners hear it at playAt: announce it then
    if (this.heardTimer) clearTimeout(this.heardTimer);
    const delayMs = Math.max(0, (e.playAt - this.options.clock()) / 1000);
    this.heardTimer = setTimeout(() => {
      this.heardTimer = null;
      this.heard = track;
      this.emit('track', track);
      this.emit('change');
    }, delayMs);
    this.heardTimer.unref();
  }

  nowPlaying(): NowPlaying {
    const e = this.options.engine;
    const t = this.heard;
    const producedOfHeard = t && e.currentTrackId === t.id ? e.positionMs - e.latencyMs : 0;
    return {
      state: e.state,
      track: t ? { id: t.id, title: t.title, artist: t.artist, album: t.album, durationMs: t.durationMs } : null,
      positionMs: Math.max(0, Math.round(producedOfHeard)),
      volume: this.vol,
      source: this.mode,
    };
  }

  sources(): string[] {
    return [...new Set(['library', this.options.sourceLabel, ...(this.options.liveSources ?? [])])];
  }

  selectSource(source: string): string {
    const choices = this.sources();
    if (!choices.includes(source)) throw new RangeError(`source '${source}' is not one of this box's sources: ${choices.join(', ')} (config 'sources' lists more)`);
    if (source === 'library') this.startQueue();
    else {
      this.options.engine.setSource(parseSourceSpec(source));
      this.mode = source;
    }
    this.emit('change');
    return this.mode;
  }

  playNow(track: Track): void {
    this.mode = 'library';
    this.queueModel.playNow(track.id);
    this.options.engine.setSource({ kind: 'file', path: track.path, trackId: track.id });
    this.emit('change');
  }

  enqueue(track: Track): number {
    const pos = this.queueModel.enqueue(track.id);
    this.options.engine.dropPrefetched(); // the pre-opened next track may no longer be next
    this.emit('change');
    return pos;
  }

  queue(): Track[] {
    const { items, index } = this.queueModel.list();
    return items.slice(index + 1).map((id) => this.options.library.get(id)).filter((t): t is Track => !!t);
  }

  control(action: ControlAction): void {
    const e = this.options.engine;
    switch (action) {
      case 'pause': e.pause(); break;
      case 'resume': if (e.state === 'idle') this.startQueue(); else e.resume(); break;
      case 'toggle': if (e.state === 'playing') e.pause(); else this.control('resume'); break;
      case 'next': e.skip(); break;
      case 'previous': {
        const id = this.queueModel.previous();
        const t = id ? this.options.library.get(id) : undefined;
        if (t) { e.setSource({ kind: 'file', path: t.path, trackId: t.id }); this.mode = 'library'; }
        break;
      }
      case 'stop': e.setSource(null); break;
    }
    this.emit('change');
  }

  setVolume(volume: number): number {
    // a non-number must never reach the speaker or the saved state
    if (typeof volume !== 'number' || !Number.isFinite(volume)) throw new RangeError(`volume must be a number 0-100, got ${String(volume).slice(0, 40)}`);
    this.vol = Math.round(Math.max(0, Math.min(100, volume)));
    this.emit('volume', this.vol);
    this.emit('change');
    return this.vol;
  }

  /** What the box saves: volume, queue and, while a library track plays, where it is. */
  toJSON(): { volume: number; queue: PlayQueueJSON; position?: TrackPosition } {
    const now = this.nowPlaying();
    // only a track the engine is still playing has a position (not after stop, nor a live source)
    const playing = this.mode === 'library' && now.track && this.options.engine.currentTrackId === now.track.id;
    return { volume: this.vol, queue: this.queueModel.toJSON(), ...(playing ? { position: { trackId: now.track!.id, ms: now.positionMs } } : {}) };
  }

  stop(): void {
    if (this.heardTimer) clearTimeout(this.heardTimer);
  }
}

/**
 * The saved queue without the tracks the library no longer has (the music folder
 * changed), so the box plays on start; null when none are left, and the box then
 * plays its library.
 */
export function keepKnownTracks(saved: PlayQueueJSON, known: (id: string) => boolean): PlayQueueJSON | null {
  if (!saved || typeof saved !== 'object' || !Array.isArray(saved.items)) return saved; // fromJSON reports it
  const items: string[] = [];
  let index = 0; // the current track's new position, or where the next known one lands
  saved.items.forEach((id, i) => {
    if (!known(id)) return;
    if (i < saved.index) index++;
    items.push(id);
  });
  if (items.length === 0) return null;
  return { ...saved, items, index: saved.index < 0 || index >= items.length ? -1 : index };
}
