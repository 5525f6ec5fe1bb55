// The programme as the scheduler uses it: the configuration's `programme` section
// compiled by validate.ts — times as minutes, dates as day numbers, the zone
// checked, track queries as matchers — so that nothing is parsed, and nothing can
// be malformed, while the box plays.

import type { LoadedConfig } from '../../config/config-schema.ts';
import type { TrackQuery } from './sources.ts';
import type { DayRange, Window } from './windows.ts';

/** The configuration section, as loaded (defaults filled in). */
export type ProgrammeConfig = LoadedConfig['programme'];

export type Order = 'shuffle' | 'sequential' | 'random';
export type InterstitialKind = 'jingle' | 'ad' | 'news' | 'announcement';

export interface Playlist {
  id: string;
  name: string;
  query: TrackQuery;
  /** empty: always on */
  windows: Window[];
  weight: number;
  order: Order;
  /** order random: not the same track again within this many songs / this long (0: no limit of that kind) */
  noRepeat: { songs: number; ms: number };
}

export type Trigger =
  | { type: 'songs'; count: number }
  | { type: 'minutes'; ms: number }
  /** daily at these minutes of the day */
  | { type: 'daily'; minutes: number[] }
  /** at this minute of every hour */
  | { type: 'hourly'; minute: number };

export interface InterstitialRule {
  id: string;
  kind: InterstitialKind;
  /** the tracks it plays: its own query (library filters, http(s) URLs or a music server), or a playlist's */
  source: { query: TrackQuery } | { playlist: string };
  trigger: Trigger;
  /** a fixed-time rule that fades out the song playing to start on time */
  interrupt: boolean;
  priority: number;
  order: Order;
  /** empty: always */
  windows: Window[];
  /** fixed-time rules: an occurrence passed longer ago than this at a song boundary is skipped */
  lateMs: number;
}

export interface Closure extends DayRange {
  note: string;
}

export interface Programme {
  /** canonical IANA zone of every time in it */
  zone: string;
  playlists: Playlist[];
  /** in configuration order: that order breaks priority ties */
  rules: InterstitialRule[];
  minGapMs: number;
  fadeMs: number;
  /** empty: always open */
  openingHours: Window[];
  closures: Closure[];
  volume: { max: number; windows: Array<{ window: Window; volume: number }> };
}

/** The wall-clock readings of a fixed-time trigger, as minutes of the day. */
export function triggerMinutes(trigger: Trigger): number[] {
  if (trigger.type === 'daily') return trigger.minutes;
  if (trigger.type === 'hourly') return Array.from({ length: 24 }, (_, hour) => hour * 60 + trigger.minute);
  return [];
}
