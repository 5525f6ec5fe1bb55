// The play log: every item that played, one JSON line each, for the shop's records
// and royalty reports (README "Play log"). An item starts when listeners start
// hearing it (the bus's `track` event) and ends when the next one starts or the box
// stops playing; pauses do not count as played. An announcement, which plays over
// the music, is an item of its own, logged when it ends. Each finished item is written to
// the day's file (util/daily-log.ts: crash-safe, rotated daily, kept N days) and told
// on the bus as `played` (event/played).

import type { BoxEventMap, BoxEvents, TrackSummary } from '../domain/box-events.ts';
import type { Track } from '../library/track.ts';
import { isoWithOffset, type DailyLog } from '../util/daily-log.ts';
import type { PlayedItem, PlayedKind } from '../wire/play-log.ts';
import type { Extension } from './extension.ts';

export type { PlayedItem, PlayedKind } from '../wire/play-log.ts';

export interface PlayLogOptions {
  events: BoxEvents;
  log: Pick<DailyLog, 'append' | 'close'>;
  /** the library's track (path, ISRC) for a track id */
  track(id: string): Track | undefined;
  playing(): boolean;
  listenerCount(): number;
  /** the wall clock (ms since the epoch) */
  now?: () => number;
  onError?: (message: string) => void;
}

interface Current {
  summary: TrackSummary;
  kind: PlayedKind;
  playlist: string | null;
  startedAt: number;
  listenersAtStart: number;
  playedMs: number;
  /** when the current stretch of playing began (null while paused) */
  playingSince: number | null;
}

export class PlayLog implements Extension {
  readonly name = 'play-log';
  private current: Current | null = null;
  private readonly onTrack = ({ track, kind, playlist, at }: BoxEventMap['track'][0]) => this.startItem(track, kind, playlist, at);
  private readonly onChanged = () => this.followPlayingState();
  private readonly onAnnouncement = (a: BoxEventMap['announcement'][0]) => {
    if ((a.state === 'done' || a.state === 'failed') && typeof a.startedAt === 'number' && typeof a.endedAt === 'number' && a.startedAt > 0) {
      this.write(
        {
          id: a.id,
          start: isoWithOffset(new Date(a.startedAt)),
          end: isoWithOffset(new Date(a.endedAt)),
          playedMs: Math.round(a.endedAt - a.startedAt),
          kind: 'announcement',
          title: a.title,
          artist: '',
          album: '',
          isrc: null,
          file: typeof a.file === 'string' ? a.file : null,
          playlist: null,
          listenersAtStart: this.options.listenerCount(),
        },
        a.startedAt,
      );
    }
  };

  constructor(private readonly options: PlayLogOptions) {}

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  start(): void {
    this.options.events.on('track', this.onTrack);
    this.options.events.on('changed', this.onChanged);
    this.options.events.on('announcement', this.onAnnouncement);
  }

  /** `at`: when listeners began to hear it (the bus's scheduled instant), never later than now */
  private startItem(track: TrackSummary | null, kind: PlayedKind, playlist: string | null, at?: number): void {
    const now = typeof at === 'number' && Number.isFinite(at) ? Math.min(at, this.now) : this.now;
    this.finishItem(now);
    if (!track) return;
    this.current = {
      summary: track,
      kind,
      playlist,
      startedAt: now,
      listenersAtStart: this.options.listenerCount(),
      playedMs: 0,
      playingSince: this.options.playing() ? now : null,
    };
  }

  /** pauses stop the item's clock; stopping ends the item */
  private followPlayingState(): void {
    const item = this.current;
    if (!item) return;
    const playing = this.options.playing();
    const now = this.now;
    if (!playing && item.playingSince !== null) {
      item.playedMs += now - item.playingSince;
      item.playingSince = null;
    } else if (playing && item.playingSince === null) {
      item.playingSince = now;
    }
  }

  private finishItem(endAt = this.now): void {
    const item = this.current;
    this.current = null;
    if (!item) return;
    const now = Math.max(endAt, item.startedAt, item.playingSince ?? item.startedAt);
    const playedMs = Math.round(item.playedMs + (item.playingSince !== null ? now - item.playingSince : 0));
    if (playedMs <= 0) return; // never heard: nothing played
    const track = this.options.track(item.summary.id);
    const played: PlayedItem = {
      id: `${item.startedAt.toString(36)}-${item.summary.id}`,
      start: isoWithOffset(new Date(item.startedAt)),
      end: isoWithOffset(new Date(now)),
      playedMs,
      kind: item.kind,
      title: item.summary.title,
      artist: item.summary.artist,
      album: item.summary.album,
      isrc: track?.isrc ?? null,
      file: track?.path ?? null,
      ...(track?.server !== undefined && { server: track.server }),
      playlist: item.playlist,
      listenersAtStart: item.listenersAtStart,
    };
    this.write(played, item.startedAt);
  }

  private write(played: PlayedItem, startedAt: number): void {
    try {
      this.options.log.append(played, new Date(startedAt));
    } catch (e) {
      this.options.onError?.(`play log: cannot write: ${(e as Error).message}`);
    }
    this.options.events.emit('played', played);
  }

  stop(): void {
    this.options.events.off('track', this.onTrack);
    this.options.events.off('changed', this.onChanged);
    this.options.events.off('announcement', this.onAnnouncement);
    this.finishItem(); // the item playing now, up to now
    this.options.log.close();
  }
}
