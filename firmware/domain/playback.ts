// The playback side of the box: the play queue over the library, driving the
// audio engine; what handlers, buttons and the state topic see as "now playing"
// (its contract, NowPlaying and PlaybackControl, is in playback-control.ts).

import { EventEmitter } from 'node:events';
import type { AudioEngine, TrackEvent } from '../audio/engine.ts';
import type { NextTrack } from '../audio/source-sequence.ts';
import { parseSourceSpec, sourceLabel, type SourceSpec } from '../audio/sources/source-spec.ts';
import { PlayQueue, type PlayQueueJSON } from '../audio/play-queue.ts';
import type { LibraryIndex } from '../library/search.ts';
import { trackIdFor, type Track } from '../library/track.ts';
import type { ControlAction } from '../wire/requests.ts';
import { continuesAlbum } from './album-order.ts';
import type { NowPlaying, PlaybackControl, PlaybackEvents, PlayedAs, TrackPosition } from './playback-control.ts';
import { stationOf } from './programme/sources.ts';
import type { ProgrammeSteps } from './programme/plan-step.ts';
import { ProgrammeTimers } from './programme-timers.ts';

/** how long before the current track ends the engine asks for the next (its pre-open time) */
const NEXT_ASKED_AHEAD_MS = 3000;
const MAX_UNLISTED = 16;
const AS_SONG: PlayedAs = { kind: 'song', playlist: null };

export interface PlaybackOptions {
  engine: AudioEngine;
  /** the box's files and the music servers' tracks it has seen (library/music-library.ts) */
  library: Pick<LibraryIndex, 'get' | 'all'>;
  clock: () => number; // µs, the engine's clock
  /** what the box plays at start: 'library' or a live source spec (config `source`) */
  sourceLabel: string;
  /** further live sources the owner may switch to (config `sources`) */
  liveSources?: string[];
  /** radio stations the owner may switch to by name (config `stations`) */
  stations?: Array<{ name: string; url: string }>;
  initialVolume: number;
  queue?: PlayQueueJSON;
  /** where the current track was when the box last saved (it resumes there after a restart) */
  resume?: TrackPosition;
  repeat: 'all' | 'none';
  /** the loudness-normalising gain of a track played as `kind` (library/loudness.ts; interstitials have their own target); none when absent */
  gainDbOf?: (track: Track, kind: PlayedAs['kind']) => number;
  /** songs overlap by this much (the engine's `crossfadeMs`), except the next track of the same album, which follows gapless */
  crossfadeMs?: number;
  /** the kiosk's programme: what plays next comes from it instead of the queue */
  programme?: ProgrammeSteps;
  /** the wall clock, ms (the programme's times) */
  now?: () => number;
}

export class Playback extends EventEmitter<PlaybackEvents> implements PlaybackControl {
  readonly queueModel: PlayQueue;
  private heard: Track | null = null;
  private heardAs: PlayedAs = AS_SONG;
  /** the track last handed to the engine, and as what (the one a crossfade would fade from) */
  private handed: { track: Track; kind: PlayedAs['kind'] } | null = null;
  /** skipToNext() is under way */
  private skipping = false;
  private heardTimer: NodeJS.Timeout | null = null;
  private vol: number;
  /** what each programmed track plays as, until it is heard */
  private readonly playedAs = new Map<string, PlayedAs>();
  /** the last programme items that are in no library (interstitials fetched from URLs): the play log still asks for them when they end */
  private readonly unlisted = new Map<string, Track>();
  /** the programme's planned fade-outs and its retry after a silence */
  private readonly timers: ProgrammeTimers;
  private mode: string; // 'library' or the live source's spec
  /** where the track playing before a restart was (it continues there) */
  private resumePosition: TrackPosition | null;
  private stationList: Array<{ name: string; url: string }>;

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
    this.resumePosition = options.resume ?? null;
    this.stationList = options.stations ?? [];
    this.timers = new ProgrammeTimers({
      engine: options.engine,
      now: () => this.wallNow(),
      resume: () => {
        if (this.options.engine.state === 'idle' && this.mode === 'library') this.startQueue();
      },
    });
    options.engine.on('track', (e) => this.onTrack(e));
  }

  /** The engine asks for the following track (a few seconds early, to pre-open it). */
  nextTrack = (): NextTrack | null => {
    if (this.programme) return this.fromProgramme(this.nextStartsAt());
    for (let tries = 0; tries < 8; tries++) {
      const id = this.queueModel.next();
      if (!id) return null;
      const t = this.options.library.get(id);
      if (t) return this.nextOf(t);
    }
    return null;
  };

  /** whether the engine fades from what it hands over now into `next`: between two songs, unless `next` continues the album gapless */
  private crossfadeInto(next: Track, kind: PlayedAs['kind']): boolean {
    const before = this.handed;
    if (!this.options.crossfadeMs || !before || kind !== 'song' || before.kind !== 'song') return false;
    return !continuesAlbum(before.track, next, this.options.library.all());
  }

  /**
   * Starts the queue (or the library) when the box boots with the library source.
   * The first start after a restart continues the saved track where it was, so
   * listeners who rejoin hear the song go on (README.md "Reliability"). Returns
   * where in which track it started (null: nothing to play).
   */
  startQueue(): TrackPosition | null {
    this.mode = 'library';
    if (this.programme) {
      this.timers.cancelResume();
      this.options.engine.setSource(this.fromProgramme(this.wallNow())?.spec ?? null);
      this.emit('change');
      return null;
    }
    const id = this.queueModel.current() ?? this.queueModel.next();
    const t = id ? this.options.library.get(id) : undefined;
    const resume = this.resumePosition;
    this.resumePosition = null;
    const startMs = resume && t && resume.trackId === t.id && resume.ms < t.durationMs ? resume.ms : 0;
    if (!t) return null;
    const spec = this.specFor(t);
    this.options.engine.setSource(spec.kind === 'file' && startMs > 0 ? { ...spec, startMs } : spec);
    return { trackId: t.id, ms: startMs };
  }

  private wallNow(): number {
    return (this.options.now ?? Date.now)();
  }

  /** the programme, while it is active (a box without one plays its queue; one can be set over MQTT) */
  private get programme(): ProgrammeSteps | null {
    const programme = this.options.programme;
    return programme?.active() ? programme : null;
  }

  /**
   * When the item asked for now will be heard (wall clock): the current item's real
   * remaining duration, when its source knows it, plus the stream's latency; else the
   * engine's usual pre-open time.
   */
  private nextStartsAt(): number {
    const remainingMs = this.skipping ? 0 : this.options.engine.remainingMs;
    return this.wallNow() + (remainingMs ?? NEXT_ASKED_AHEAD_MS) + this.options.engine.latencyMs;
  }

  /** The programme's next item as the engine plays it; nothing (and a retry at its end) when the programme says silence. */
  private fromProgramme(at: number): NextTrack | null {
    let step = this.programme!.next(at);
    // a station the programme names but the box does not know (removed over MQTT): said, and the next item asked for
    for (let tries = 0; step.kind !== 'silence' && this.unknownStation(step.track) && tries < 4; tries++) step = this.programme!.next(at);
    if (step.kind !== 'silence' && this.unknownStation(step.track)) step = { kind: 'silence', until: this.wallNow() + 60_000, reason: 'only unknown stations' };
    if (step.kind === 'silence') {
      this.timers.resumeAt(step.until);
      return null;
    }
    this.playedAs.set(step.track.id, { kind: step.kind, playlist: step.playlist });
    if (!this.options.library.get(step.track.id)) {
      this.unlisted.set(step.track.id, step.track);
      for (const id of this.unlisted.keys()) if (this.unlisted.size > MAX_UNLISTED) this.unlisted.delete(id); // the oldest first
    }
    this.timers.planCut(step.cut);
    return this.nextOf(step.track, step.kind);
  }

  private unknownStation(track: Track): boolean {
    const name = stationOf(track);
    if (name === null || this.stationList.some((s) => s.name === name)) return false;
    this.emit('problem', `programme: no station named '${name}' (config stations, or the stations request); skipped`);
    return true;
  }

  /** The programme changed (replaced, or a playlist chosen): the item pre-opened to follow and the planned fades no longer hold. */
  replanNext(): void {
    this.timers.clearCuts();
    this.options.engine.dropPrefetched();
  }

  /** Plays the programme's next item now (a playlist was chosen). */
  skipToNext(): void {
    if (this.mode !== 'library') return; // a live source the owner chose keeps playing; the programme resumes with the library
    if (this.options.engine.state === 'idle') this.startQueue();
    else {
      this.skipping = true; // the engine asks for the next item at once: it starts now, not when the current one would have ended
      try {
        this.options.engine.skip();
      } finally {
        this.skipping = false;
      }
    }
    this.emit('change');
  }

  /** Closing time (the programme): the music stops; listeners stay connected and see the box idle. */
  stopForClosing(_reason: string): void {
    this.timers.cancelResume();
    this.options.engine.setSource(null);
    this.emit('change');
  }

  private onTrack(e: TrackEvent): void {
    const track = e.trackId ? (this.track(e.trackId) ?? null) : e.title && e.spec ? streamTrack(sourceLabel(e.spec), e.title) : null;
    const playedAs = (track && this.playedAs.get(track.id)) ?? AS_SONG;
    if (track) this.playedAs.delete(track.id);
    // listeners hear it at playAt: announce it then
    if (this.heardTimer) clearTimeout(this.heardTimer);
    const delayMs = Math.max(0, (e.playAt - this.options.clock()) / 1000);
    this.heardTimer = setTimeout(() => {
      this.heardTimer = null;
      this.heard = track;
      this.heardAs = playedAs;
      const lateMs = Math.max(0, (this.options.clock() - e.playAt) / 1000);
      this.emit('track', track, playedAs, this.wallNow() - lateMs);
      this.emit('change');
    }, delayMs);
    this.heardTimer.unref();
  }

  /** how the engine plays a library track: its file, at the gain that evens out loudness (a jingle's target may differ from a song's) */
  private specFor(track: Track, kind: PlayedAs['kind'] = 'song'): SourceSpec {
    this.handed = { track, kind };
    if (track.server) return sourceOf(track);
    const station = stationOf(track) === null ? undefined : this.stationList.find((s) => s.name === stationOf(track));
    if (station) return { kind: 'url', url: station.url, live: true, trackId: track.id, label: station.name }; // a programme's station, for its minutes
    if (/^https?:\/\//i.test(track.path)) return { kind: 'url', url: track.path, live: false, trackId: track.id, label: `url:${track.path}` }; // a programme's interstitial from a URL
    const gainDb = this.options.gainDbOf?.(track, kind) ?? 0;
    return { kind: 'file', path: track.path, trackId: track.id, ...(gainDb !== 0 ? { gainDb } : {}) };
  }

  /** the engine's next track for a library track */
  private nextOf(track: Track, kind: PlayedAs['kind'] = 'song'): NextTrack {
    const crossfade = this.crossfadeInto(track, kind);
    return { path: track.path, trackId: track.id, spec: this.specFor(track, kind), ...(crossfade ? { crossfade } : {}) };
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

  /** a library track, or a programme item fetched from a URL that played lately */
  track(id: string): Track | undefined {
    return this.options.library.get(id) ?? this.unlisted.get(id);
  }

  playingAs(): PlayedAs {
    return this.heard ? this.heardAs : AS_SONG;
  }

  sources(): string[] {
    return [...new Set(['library', this.options.sourceLabel, ...(this.options.liveSources ?? []), ...this.stationList.map((s) => s.name)])];
  }

  /**
   * The stations offered from now on (the owner added or removed one). A station that
   * is playing and was removed plays on until the source changes: the owner removed a
   * choice, not the music of the moment.
   */
  setStations(stations: Array<{ name: string; url: string }>): void {
    this.stationList = [...stations];
    this.emit('sources', this.sources());
    this.emit('change');
  }

  selectSource(source: string): string {
    const choices = this.sources();
    if (!choices.includes(source)) throw new RangeError(`source '${source}' is not one of this box's sources: ${choices.join(', ')} (config 'sources' lists more)`);
    if (source === 'library') this.startQueue();
    else {
      const station = this.stationList.find((s) => s.name === source);
      this.options.engine.setSource(station ? { kind: 'url', url: station.url, live: true, label: station.name } : parseSourceSpec(source));
      this.mode = source;
    }
    this.emit('change');
    return this.mode;
  }

  playNow(track: Track): void {
    this.timers.clearCuts();
    this.mode = 'library';
    this.queueModel.playNow(track.id);
    this.options.engine.setSource(this.specFor(track));
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
    return items
      .slice(index + 1)
      .map((id) => this.options.library.get(id))
      .filter((t): t is Track => !!t);
  }

  control(action: ControlAction): void {
    const e = this.options.engine;
    switch (action) {
      case 'pause':
        e.pause();
        break;
      case 'resume':
        if (e.state === 'idle') this.startQueue();
        else e.resume();
        break;
      case 'toggle':
        if (e.state === 'playing') e.pause();
        else this.control('resume');
        break;
      case 'next':
        e.skip();
        break;
      case 'previous': {
        const id = this.queueModel.previous();
        const t = id ? this.options.library.get(id) : undefined;
        if (t) {
          e.setSource(this.specFor(t));
          this.mode = 'library';
        }
        break;
      }
      case 'stop':
        this.timers.clearCuts();
        e.setSource(null);
        break;
    }
    this.emit('change');
  }

  setVolume(volume: number): number {
    // a non-number must never reach the speaker or the saved state
    if (typeof volume !== 'number' || !Number.isFinite(volume)) throw new RangeError(`volume must be a number 0-100, got ${String(volume).slice(0, 40)}`);
    // under a programme, its maximum holds for buttons and requests alike
    this.vol = Math.round(Math.max(0, Math.min(this.programme?.maxVolume() ?? 100, volume)));
    this.emit('volume', this.vol);
    this.emit('change');
    return this.vol;
  }

  /**
   * What the box saves: volume, queue and, while a library track plays, where it is.
   * A music server's tracks in the queue are saved whole (id, stream URL without
   * credentials, title…): the box knows them only from a search, and after a restart
   * it must know them again to keep them in the queue.
   */
  toJSON(): { volume: number; queue: PlayQueueJSON; position?: TrackPosition; remote?: Track[] } {
    const now = this.nowPlaying();
    // only a track the engine is still playing has a position (not after stop, nor a live source)
    const playing = this.mode === 'library' && now.track && this.options.engine.currentTrackId === now.track.id;
    const queue = this.queueModel.toJSON();
    const remote = [...new Set(queue.items)].flatMap((id) => {
      const track = this.options.library.get(id);
      return track?.server ? [track] : [];
    });
    return {
      volume: this.vol,
      queue,
      ...(playing ? { position: { trackId: now.track!.id, ms: now.positionMs } } : {}),
      ...(remote.length > 0 ? { remote } : {}),
    };
  }

  stop(): void {
    if (this.heardTimer) clearTimeout(this.heardTimer);
    this.timers.clearCuts();
    this.timers.cancelResume();
  }
}

/** a track on the box is a file; one on a music server is streamed from it (its `path` is then a URL without credentials) */
function sourceOf(t: Track): SourceSpec {
  return t.server ? { kind: 'url', url: t.path, live: false, trackId: t.id, server: t.server, label: `${t.title} (${t.server})` } : { kind: 'file', path: t.path, trackId: t.id };
}

/** what a radio stream says it plays (ICY StreamTitle), as now-playing; a new id per title */
function streamTrack(source: string, now: { title: string; artist: string; station: string }): Track {
  return {
    id: trackIdFor(`${source}\n${now.artist}\n${now.title}`),
    path: source,
    title: now.title,
    artist: now.artist,
    album: now.station,
    durationMs: 0,
    fileName: '',
    hasArtwork: false,
  };
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
