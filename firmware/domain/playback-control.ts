// The playback side as the rest of the box sees it: what plays now and as what, the
// controls handlers and buttons use, and the events it emits. Playback
// (domain/playback.ts) implements it; requests, live input and the event bus use it.

import type { Track } from '../library/track.ts';
import type { ControlAction } from '../wire/requests.ts';

export interface NowPlaying {
  state: 'playing' | 'paused' | 'idle';
  track: Pick<Track, 'id' | 'title' | 'artist' | 'album' | 'durationMs'> | null;
  positionMs: number;
  volume: number;
  source: string;
}

/** The playback side as handlers use it (implemented by Playback in playback.ts). */
export interface PlaybackControl {
  nowPlaying(): NowPlaying;
  playNow(track: Track): void;
  enqueue(track: Track): number; // position in the queue
  queue(): Track[];
  control(action: ControlAction): void;
  setVolume(volume: number): number;
  /** what the item listeners hear now plays as: a song, a jingle..., and from which programme playlist */
  playingAs(): PlayedAs;
  /** switches what the box plays: 'library' or one of sources(); throws a RangeError naming the choices otherwise */
  selectSource(source: string): string;
  /** what selectSource accepts */
  sources(): string[];
}

export interface PlaybackEvents {
  change: [];
  /** the box volume changed: it sets the box's own speaker, the stream stays at full scale */
  volume: [number];
  /**
   * the track listeners hear changed (emitted when it starts being heard), what it plays as,
   * and the wall-clock instant (ms) it was scheduled to be heard: a timer that fired late
   * (a busy event loop) does not move it
   */
  track: [Track | null, PlayedAs, number];
  /** what selectSource accepts changed (the owner added or removed a station) */
  sources: [string[]];
  /** something the owner should know (a programme's station the box does not know) */
  problem: [string];
}

/** what an item plays as: a song, or (under a programme) a jingle, ad, news or announcement, and from which playlist */
export interface PlayedAs {
  kind: 'song' | 'jingle' | 'ad' | 'news' | 'announcement';
  playlist: string | null;
}

/** a point in a library track, as the box saves it */
export interface TrackPosition {
  trackId: string;
  ms: number;
}
