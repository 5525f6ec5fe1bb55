// The kiosk's scheduler: given the time, what plays next — a song from the playlists
// on the air, shared out by weight, or a jingle, ad or news item whose rule is due —
// and why. It has no timers and reads no clock: the box passes the instant (ms since
// the epoch) at which the item will start, and sets one timer from `nextChange`. Its
// randomness is a seeded source kept in its state, so `upcoming` plans on a copy and
// predicts `next` exactly, and a box that saved `toJSON()` resumes where it was.
// Nothing it is given makes it throw: a bad instant, an empty library or a playlist
// with no tracks gives silence or the whole library, with a warning saying so.

import type { Track } from '../../library/track.ts';
import { formatClockTime, formatDate, isInstant, zoneClock, type WallTime, type ZoneClock } from './calendar.ts';
import { describeTrigger, dueRules, firstInterrupt, formatDuration, markFired, stateOf, Slots } from './interstitials.ts';
import type { InterstitialKind, Playlist, Programme } from './model.ts';
import { chooseWeighted, newCursor, pickTrack, type Cursor } from './picker.ts';
import { SeededRandom } from './random.ts';
import { isUrlTrack, resolveQuery, stationOf, trackList, type ServerSongs, type TrackList, type TrackQuery } from './sources.ts';
import { copyState, freshState, rememberSong, restoreState, saveState, type LiveState, type SavedState } from './state.ts';
import { HORIZON_MS, Timetable, type Change } from './timetable.ts';

export type { Change };

export type ItemKind = 'song' | InterstitialKind;

export interface PlannedItem {
  kind: ItemKind;
  track: Track;
  /** the playlist a song (or the interstitial's source) came from; null: the whole library */
  playlist: string | null;
  /** the interstitial rule that fired */
  rule: string | null;
  reason: string;
  startsAt: number;
  /** planned end: the start plus the track's duration, or the cut */
  endsAt: number;
  /** fade the item out over `fadeMs` so that it ends at `at`: an interstitial is due then, or the box closes */
  cut: { at: number; fadeMs: number; because: 'interstitial' | 'closing' | 'duration'; rule: string | null } | null;
}

export interface Silence {
  kind: 'silence';
  reason: string;
  startsAt: number;
  /** when there is something to play again; null: not within a year, or not until the library changes */
  until: number | null;
}

export type Planned = PlannedItem | Silence;

export interface NextResult {
  item: Planned;
  /** what the owner should know (a playlist with no tracks, a skipped news slot...) */
  warnings: string[];
}

export interface SchedulerOptions {
  library?: readonly Track[];
  /** default: seeded from the system's random source */
  random?: SeededRandom;
  /** the songs of music-server entries known now (server-tracks.ts), and a number that grows when they change */
  servers?: { songs: ServerSongs; readonly version: number };
}

/** An item fetched from a URL is planned as this long (a typical ad or news bulletin). */
const URL_PLANNED_MS = 30_000;
/** A track without a usable duration is planned as this long. */
const UNKNOWN_DURATION_MS = 180_000;
const MAX_UPCOMING = 100;
const NO_REPEAT_NONE = { songs: 0, ms: 0 };

export class ProgrammeScheduler {
  private readonly clock: ZoneClock;
  private readonly timetable: Timetable;
  private readonly slots: Slots;
  private state: LiveState;
  private byPath: Track[] = [];
  /** resolved lists by cursor key, until the library changes */
  private lists = new Map<string, TrackList>();
  private readonly servers: SchedulerOptions['servers'];
  /** the servers' version the resolved lists were made with */
  private serversVersion = 0;
  private readonly maxNoRepeat: { songs: number; ms: number };
  /** some playlist draws on URLs or a music server: an empty library alone does not mean silence */
  private readonly hasNetworkEntries: boolean;
  /** the playlist the owner chose (Home Assistant's select, the `playlist` request): its songs until `until`; not saved */
  private chosen: { playlist: Playlist; until: number | null } | null = null;

  constructor(
    readonly programme: Programme,
    options: SchedulerOptions = {},
  ) {
    this.clock = zoneClock(programme.zone);
    this.timetable = new Timetable(programme, this.clock);
    this.slots = new Slots(this.clock);
    this.state = freshState(0);
    if (options.random) this.state.random = options.random;
    else this.state.random = new SeededRandom(crypto.getRandomValues(new Uint32Array(1))[0] ?? Date.now());
    this.servers = options.servers;
    this.hasNetworkEntries = programme.playlists.some((playlist) => playlist.query.entries.some((entry) => entry.kind !== 'library'));
    this.serversVersion = this.servers?.version ?? 0;
    this.setLibrary(options.library ?? []);
    const random = programme.playlists.filter((playlist) => playlist.order === 'random');
    this.maxNoRepeat = { songs: Math.max(0, ...random.map((p) => p.noRepeat.songs)), ms: Math.max(0, ...random.map((p) => p.noRepeat.ms)) };
  }

  /** A scheduler that goes on from a saved state; a state that does not fit is set aside (`problem`) and a fresh one used. */
  static fromJSON(programme: Programme, saved: unknown, options: SchedulerOptions = {}): { scheduler: ProgrammeScheduler; problem: string | null } {
    const scheduler = new ProgrammeScheduler(programme, options);
    const known = { playlists: new Set(programme.playlists.map((p) => p.id)), rules: new Set(programme.rules.map((r) => r.id)) };
    const restored = restoreState(saved, known);
    if (typeof restored === 'string') return { scheduler, problem: restored };
    scheduler.state = restored;
    return { scheduler, problem: null };
  }

  toJSON(): SavedState {
    return saveState(this.state);
  }

  /** The tracks to choose from (songs and interstitials alike); call again after a rescan. */
  setLibrary(tracks: readonly Track[]): void {
    this.byPath = [...tracks].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    this.lists.clear();
  }

  /** What plays from `now` (the instant it will start), committing the pick. */
  next(now: number, context: { library?: readonly Track[] } = {}): NextResult {
    if (context.library) this.setLibrary(context.library);
    return this.plan(this.state, now);
  }

  /** The next `count` items from `now` with their planned start times, as next() would give them; nothing is committed. */
  upcoming(now: number, count: number): Planned[] {
    const copy = copyState(this.state);
    const items: Planned[] = [];
    let at = now;
    for (let i = 0; i < Math.min(MAX_UPCOMING, Math.max(0, Math.floor(count))) && isInstant(at); i++) {
      const { item } = this.plan(copy, at);
      items.push(item);
      if (item.kind === 'silence' && item.until === null) break;
      at = item.kind === 'silence' ? (item.until ?? at) : item.endsAt;
    }
    return items;
  }

  isOpen(now: number): boolean {
    return this.timetable.isOpen(now);
  }

  /** The scheduled speaker volume (null: no volume window now, the box keeps its own), and the maximum. */
  volumeAt(now: number): { volume: number | null; max: number } {
    return this.timetable.volumeAt(now);
  }

  /** The playlists on the air at `now`, in configuration order. */
  onAir(now: number): string[] {
    return this.timetable.onAir(now);
  }

  /**
   * Plays songs from `playlistId` (an id or a name) from `now` until the playlists on the
   * air or the opening hours next change (until: null, no such change within a year);
   * interstitial rules still apply. Null when the programme has no such playlist.
   */
  choose(playlistId: string, now: number): { playlist: string; until: number | null } | null {
    const playlist = this.programme.playlists.find((p) => p.id === playlistId) ?? this.programme.playlists.find((p) => p.name === playlistId);
    if (!playlist || !isInstant(now)) return null;
    let until: number | null = null;
    for (let at = now, steps = 0; steps < 100; steps++) {
      const change = this.timetable.nextChange(at);
      if (!change) break;
      if (change.changes.includes('playlists') || change.changes.includes('open')) {
        until = change.at;
        break;
      }
      at = change.at;
    }
    this.chosen = { playlist, until };
    return { playlist: playlist.id, until };
  }

  /** the playlist the owner chose, while it holds at `now` */
  chosenAt(now: number): { playlist: string; until: number | null } | null {
    const chosen = this.chosen;
    if (!chosen || (chosen.until !== null && now >= chosen.until)) return null;
    return { playlist: chosen.playlist.id, until: chosen.until };
  }

  /** When opening, the volume window or the playlists on the air next change after `now`, and which; null: not within a year. */
  nextChange(now: number): { at: number; changes: Change[] } | null {
    return this.timetable.nextChange(now);
  }

  private list(key: string, tracks: () => Track[], query?: TrackQuery): TrackList {
    // each pick asks after the servers' songs (a fresh answer asks nothing): a list kept for long still sees them age
    if (this.servers && query) for (const entry of query.entries) if (entry.kind === 'server') this.servers.songs(entry);
    if (this.servers && this.servers.version !== this.serversVersion) {
      // a server answered with other songs: lists made with its old answer are out of date
      this.serversVersion = this.servers.version;
      this.lists.clear();
    }
    const known = this.lists.get(key);
    if (known) return known;
    const list = trackList(tracks());
    this.lists.set(key, list);
    return list;
  }

  /** A query's tracks; a server's songs are those it last gave, asked again in the background once they have aged. */
  private resolve(query: TrackQuery): Track[] {
    return resolveQuery(query, this.byPath, this.servers?.songs);
  }

  private playlistList(playlist: Playlist): TrackList {
    return this.list(`playlist:${playlist.id}`, () => this.resolve(playlist.query), playlist.query);
  }

  /** The whole library, less the tracks that interstitial rules name by folder, glob, files or tags: jingles are not songs. */
  private libraryList(): TrackList {
    return this.list('library', () => {
      const interstitialOnly = new Set<string>();
      for (const rule of this.programme.rules) {
        if ('query' in rule.source) for (const track of resolveQuery(rule.source.query, this.byPath)) interstitialOnly.add(track.id); // the box's own files only
      }
      return this.byPath.filter((track) => !interstitialOnly.has(track.id));
    });
  }

  private cursor(state: LiveState, key: string): Cursor {
    const known = state.cursors.get(key);
    if (known) return known;
    const cursor = newCursor();
    state.cursors.set(key, cursor);
    return cursor;
  }

  private durationOf(track: Track, warnings: string[]): number {
    if (Number.isFinite(track.durationMs) && track.durationMs > 0) return track.durationMs;
    if (isUrlTrack(track)) return URL_PLANNED_MS; // its length is known only once fetched: not worth a warning each time
    warnings.push(`track ${JSON.stringify(track.title || track.path)} has no usable duration; planned as ${formatDuration(UNKNOWN_DURATION_MS)}`);
    return UNKNOWN_DURATION_MS;
  }

  /** Whether (and how) an item planned over [from, to) is cut short: an interrupting rule falls due, or the box closes. */
  private cutFor(state: LiveState, from: number, to: number): PlannedItem['cut'] {
    const fadeMs = this.programme.fadeMs;
    const interrupt = firstInterrupt(this.programme.rules, state.rules, this.slots, from, to);
    const closing = this.timetable.nextOpenChange(from, Math.min(to - 1, interrupt ? interrupt.at : Infinity));
    if (closing !== null) return { at: closing, fadeMs, because: 'closing', rule: null };
    return interrupt ? { at: interrupt.at, fadeMs, because: 'interstitial', rule: interrupt.rule.id } : null;
  }

  /** a station's stream never ends by itself: it fades out at the end of its minutes */
  private stationEnd(track: Track, endsAt: number): PlannedItem['cut'] {
    return stationOf(track) === null ? null : { at: endsAt, fadeMs: this.programme.fadeMs, because: 'duration', rule: null };
  }

  private silence(reason: string, now: number, until: number | null, warnings: string[]): NextResult {
    return { item: { kind: 'silence', reason, startsAt: now, until }, warnings };
  }

  private plan(state: LiveState, now: number): NextResult {
    const warnings: string[] = [];
    if (!isInstant(now)) return this.silence('no valid time was given', 0, null, [`ignored a clock reading that is not a time: ${String(now)}`]);
    const wall = this.clock.wall(now);
    const closed = this.timetable.closedReason(wall);
    if (closed !== null) {
      state.silent = true;
      return this.silence(closed, now, this.timetable.nextOpenChange(now, now + HORIZON_MS), warnings);
    }
    if (state.silent) {
      // a day's first minutes are not owed the ads of the night: every-minutes rules count from the opening
      for (const rule of this.programme.rules) if (rule.trigger.type === 'minutes') Object.assign(stateOf(state.rules, rule), { armedAt: now, lastFiredAt: null });
      state.silent = false;
    }
    if (this.byPath.length === 0 && !this.hasNetworkEntries) return this.silence('the library is empty', now, null, ['nothing to play: the library is empty']);
    return this.interstitial(state, now, wall, warnings) ?? this.song(state, now, wall, warnings);
  }

  private interstitial(state: LiveState, now: number, wall: WallTime, warnings: string[]): NextResult | null {
    const { due, skipped } = dueRules(this.programme.rules, state.rules, now, {
      slots: this.slots,
      wall,
      minGapMs: this.programme.minGapMs,
      lastInterstitialEnd: state.lastInterstitialEnd,
    });
    for (const { rule, slot, lateMs } of skipped) {
      stateOf(state.rules, rule).lastSlot = slot;
      warnings.push(
        `rule "${rule.id}" skipped its ${formatClockTime(this.clock.wall(slot).minute)} slot: the song boundary came ${formatDuration(lateMs)} after it, more than lateMinutes`,
      );
    }
    for (const { rule, slot, why } of due) {
      markFired(stateOf(state.rules, rule), now, slot);
      const source = rule.source;
      const query = 'playlist' in source ? (this.programme.playlists.find((p) => p.id === source.playlist)?.query ?? { entries: [] }) : source.query;
      const list = this.list('playlist' in source ? `playlist:${source.playlist}` : `rule:${rule.id}`, () => this.resolve(query), query);
      const picked = pickTrack(list, rule.order, this.cursor(state, `rule:${rule.id}`), state.random, NO_REPEAT_NONE, [], now);
      if (!picked) {
        warnings.push(`rule "${rule.id}" (${describeTrigger(rule)}) has no tracks in the library: nothing played for it`);
        continue;
      }
      const endsAt = now + this.durationOf(picked.track, warnings);
      state.lastInterstitialEnd = endsAt;
      const cut = this.cutFor(state, now, endsAt) ?? this.stationEnd(picked.track, endsAt);
      return {
        item: {
          kind: rule.kind,
          track: picked.track,
          playlist: 'playlist' in source ? source.playlist : null,
          rule: rule.id,
          reason: `rule "${rule.id}": ${why}`,
          startsAt: now,
          endsAt: cut?.at ?? endsAt,
          cut,
        },
        warnings,
      };
    }
    return null;
  }

  private song(state: LiveState, now: number, wall: WallTime, warnings: string[]): NextResult {
    const { playlists, rules } = this.programme;
    const onAir = this.timetable.onAirAt(wall);
    const byOwner = this.chosenAt(now) ? (this.chosen?.playlist ?? null) : null;
    const chosen = byOwner ?? chooseWeighted(onAir, state.credits);
    let playlist: Playlist | null = null;
    let reason: string;
    if (playlists.length === 0) reason = 'the whole library (the programme has no playlists)';
    else if (!chosen) {
      reason = `the whole library: no playlist is on at ${formatClockTime(wall.minute)}`;
      warnings.push(`no playlist is on at ${formatDate(wall.day)} ${formatClockTime(wall.minute)}: playing the whole library`);
    } else if (this.playlistList(chosen).tracks.length === 0) {
      reason = `the whole library: playlist "${chosen.id}" has no tracks`;
      const where = chosen.query.entries.some((entry) => entry.kind === 'server') ? ' in the library or from its music servers (yet)' : ' in the library';
      warnings.push(`playlist "${chosen.id}" has no tracks${where}: playing the whole library instead`);
    } else {
      playlist = chosen;
      const total = onAir.reduce((sum, p) => sum + p.weight, 0);
      if (byOwner) reason = `playlist "${chosen.id}", chosen by the owner`;
      else reason = `playlist "${chosen.id}"${onAir.length > 1 ? ` (weight ${chosen.weight} of ${total}; on the air: ${onAir.map((p) => p.id).join(', ')})` : ''}`;
    }
    const list = playlist ? this.playlistList(playlist) : this.libraryList();
    const cursor = this.cursor(state, playlist ? `playlist:${playlist.id}` : 'library');
    const picked = pickTrack(list, playlist?.order ?? 'shuffle', cursor, state.random, playlist?.noRepeat ?? NO_REPEAT_NONE, state.history, now);
    if (!picked && this.byPath.length === 0) return this.silence('the library is empty', now, null, [...warnings, 'nothing to play: the library is empty']);
    if (!picked)
      return this.silence('no songs: every track is an interstitial', now, null, [...warnings, 'nothing to play: every track in the library belongs to an interstitial rule']);
    if (picked.repeated) warnings.push(`playlist "${playlist?.id}" has fewer tracks than its no-repeat window: repeating the one played longest ago`);
    rememberSong(state, picked.track.id, now, this.maxNoRepeat);
    for (const rule of rules) stateOf(state.rules, rule).songs++;
    const endsAt = now + this.durationOf(picked.track, warnings);
    // a station's stream never ends by itself: it fades out at the end of its minutes
    const cut = this.cutFor(state, now, endsAt) ?? this.stationEnd(picked.track, endsAt);
    return { item: { kind: 'song', track: picked.track, playlist: playlist?.id ?? null, rule: null, reason, startsAt: now, endsAt: cut?.at ?? endsAt, cut }, warnings };
  }
}
