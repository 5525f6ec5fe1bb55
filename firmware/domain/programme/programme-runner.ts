// Runs the kiosk's day on the box: Playback asks it what plays next (a song, a
// jingle, an ad or the news, from the scheduler), it keeps the scheduler's state on
// disk after each pick so a power cut resumes the day, and one timer follows the
// timetable: closing time stops the music (listeners stay connected and are told),
// opening time starts it, a volume window sets the speaker's volume. The owner can
// replace the programme while the box plays (`set-programme`) and choose the playlist
// songs come from (`playlist`, Home Assistant's select). A box without a programme has
// a runner all the same, inactive, so that one can be set over MQTT.
// ARCHITECTURE.md "Programme".

import type { Track } from '../../library/track.ts';
import type { BoxEvents } from '../box-events.ts';
import { ClientError } from '../client-error.ts';
import type { Programme, ProgrammeConfig } from './model.ts';
import type { PlanStep, ProgrammeSteps } from './plan-step.ts';
import type { CheckedProgramme, ProgrammeOrigin } from './programme-store.ts';
import { ProgrammeScheduler, type Planned } from './scheduler.ts';
import type { ServerTracks } from './server-tracks.ts';

/** the part of Playback the runner drives */
export interface ProgrammedPlayback {
  startQueue(): void;
  stopForClosing(reason: string): void;
  setVolume(volume: number): number;
  /** the programme changed: the item already picked to follow, and the fades planned, no longer hold */
  replanNext(): void;
  /** plays the programme's next item now */
  skipToNext(): void;
}

export interface ProgrammeRunnerOptions {
  /** the programme the box starts with; null: none (Playback plays its queue until one is set) */
  programme: Programme | null;
  origin: ProgrammeOrigin;
  /** the scheduler state saved before a restart */
  saved: unknown;
  /** the tracks to choose from */
  library(): readonly Track[];
  /** the music servers' songs for the programme's `server` entries; none: such entries give nothing */
  servers?: ServerTracks;
  /** checks a programme section sent over MQTT (programme-store.ts) */
  check(section: unknown): CheckedProgramme;
  /** keeps a checked programme section on disk; throws when it cannot */
  persist(config: ProgrammeConfig, setAt: Date): void;
  events: BoxEvents;
  /** saves the scheduler's state (after each pick) */
  save(state: unknown): void;
  now?: () => number;
  log(level: 'info' | 'warn', msg: string, extra?: object): void;
}

/** the longest a timer is set for; it is set again when it fires (timers overflow past ~24.8 days) */
const MAX_TIMER_MS = 6 * 3_600_000;
const UPCOMING_MAX = 20;

export class ProgrammeRunner implements ProgrammeSteps {
  private scheduler: ProgrammeScheduler | null = null;
  private origin: ProgrammeOrigin;
  private playback: ProgrammedPlayback | null = null;
  private timer: NodeJS.Timeout | null = null;
  private open = true;

  constructor(private readonly options: ProgrammeRunnerOptions) {
    this.origin = options.origin;
    if (options.programme) {
      const { scheduler, problem } = ProgrammeScheduler.fromJSON(options.programme, options.saved, { library: options.library(), servers: options.servers });
      if (problem && isNonEmpty(options.saved)) options.log('warn', 'the saved programme state does not fit; the day starts afresh', { problem });
      this.scheduler = scheduler;
      this.askServers();
    }
  }

  /** Asks the music servers for the programme's server entries now, so that the first picks have their songs. */
  private askServers(): void {
    const servers = this.options.servers;
    if (servers && this.scheduler) void servers.prefetch(this.scheduler.programme.playlists.map((playlist) => playlist.query));
  }

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** whether the box runs a programme (else Playback plays its queue) */
  active(): boolean {
    return this.scheduler !== null;
  }

  /** Called by Playback for each item; `at` is when it will start (wall clock, ms). */
  next(at: number): PlanStep {
    const scheduler = this.scheduler;
    if (!scheduler) return { kind: 'silence', until: null, reason: 'the box runs no programme' };
    const { item, warnings } = scheduler.next(at); // the library it was built with (the box does not rescan while running)
    for (const warning of warnings) {
      this.options.log('warn', 'programme', { warning });
      this.options.events.emit('error', { message: `programme: ${warning}` });
    }
    this.options.save(scheduler.toJSON());
    if (item.kind === 'silence') return { kind: 'silence', until: item.until, reason: item.reason };
    return { kind: item.kind, track: item.track, playlist: item.playlist, cut: item.cut && { at: item.cut.at, fadeMs: item.cut.fadeMs, because: item.cut.because } };
  }

  /** Starts following the timetable for `playback`: the volume window and the opening hours now, then at each change. */
  start(playback: ProgrammedPlayback): void {
    this.playback = playback;
    this.open = this.scheduler?.isOpen(this.now) ?? true;
    this.applyVolume();
    this.arm();
  }

  /**
   * Replaces the programme (the owner's `set-programme`): checked in full, then kept on
   * disk, then applied — opening hours and volume at once, songs from the next item on.
   * The day goes on where it was for the playlists and rules the new programme keeps
   * (same ids). Refusals are ClientErrors listing every problem with its path.
   */
  set(section: unknown): { origin: ProgrammeOrigin; playlists: string[]; interstitials: string[]; open: boolean; onAir: string[] } {
    const checked = this.options.check(section);
    if (!checked.ok) throw new ClientError(`the programme has ${checked.errors.length} problem${checked.errors.length === 1 ? '' : 's'}: ${checked.errors.join('; ')}`);
    const setAt = new Date(this.now);
    try {
      this.options.persist(checked.config, setAt);
    } catch (error) {
      throw new ClientError(`the programme could not be saved, so it was not applied: ${(error as Error).message}`);
    }
    const previous = this.scheduler;
    const wasOpen = this.open;
    this.scheduler = checked.programme
      ? ProgrammeScheduler.fromJSON(checked.programme, previous?.toJSON() ?? {}, { library: this.options.library(), servers: this.options.servers }).scheduler
      : null;
    this.askServers();
    this.origin = { from: 'set', setAt: setAt.toISOString() };
    if (this.scheduler) this.options.save(this.scheduler.toJSON());
    this.options.log('info', 'programme replaced', { playlists: checked.config.playlists.length, interstitials: checked.config.interstitials.length });
    this.open = this.scheduler?.isOpen(this.now) ?? true;
    if (this.playback) {
      this.playback.replanNext();
      if (wasOpen && !this.open) this.playback.stopForClosing('the shop is closed');
      else if (!wasOpen && this.open) this.playback.startQueue();
      this.applyVolume();
    }
    this.arm();
    this.options.events.emit('changed');
    const status = this.status();
    return {
      origin: this.origin,
      playlists: this.playlists().map((p) => p.id),
      interstitials: checked.config.interstitials.map((rule) => rule.id ?? ''),
      open: status.open,
      onAir: status.onAir,
    };
  }

  /** Songs from `playlist` (an id or a name) now, until the playlists on the air next change; interstitials still play. */
  choose(playlist: string): { playlist: string; until: string | null } {
    const scheduler = this.scheduler;
    if (!scheduler) throw new ClientError('this box runs no programme, so it has no playlists (configuration section `programme`, or `set-programme`)');
    const chosen = scheduler.choose(playlist, this.now);
    if (!chosen)
      throw new ClientError(
        `the programme has no playlist '${playlist.slice(0, 64)}'; it has: ${
          this.playlists()
            .map((p) => p.name)
            .join(', ') || 'none'
        }`,
      );
    this.options.log('info', 'playlist chosen by the owner', { playlist: chosen.playlist });
    if (this.open && this.playback) {
      this.playback.replanNext();
      this.playback.skipToNext();
    }
    this.options.events.emit('changed');
    return { playlist: chosen.playlist, until: chosen.until === null ? null : new Date(chosen.until).toISOString() };
  }

  /** the name of playlist `id` (null: none, or not in the programme) */
  playlistName(id: string | null): string | null {
    return this.scheduler?.programme.playlists.find((p) => p.id === id)?.name ?? null;
  }

  /** the programme's playlists, in configuration order */
  playlists(): Array<{ id: string; name: string }> {
    return (this.scheduler?.programme.playlists ?? []).map((p) => ({ id: p.id, name: p.name }));
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const change = this.scheduler?.nextChange(this.now);
    if (!change || !this.playback) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, change.at - this.now));
    this.timer = setTimeout(() => this.onTimer(), wait);
    this.timer.unref();
  }

  private onTimer(): void {
    const open = this.scheduler?.isOpen(this.now) ?? true;
    if (open !== this.open) {
      this.open = open;
      this.options.log('info', open ? 'programme: opening time, the music starts' : 'programme: closing time, the music stops', {});
      if (open) this.playback?.startQueue();
      else this.playback?.stopForClosing('the shop is closed');
    }
    this.options.events.emit('changed'); // the playlists on the air (and a chosen one's end) show in the state
    this.applyVolume();
    this.arm();
  }

  private applyVolume(): void {
    const volume = this.scheduler?.volumeAt(this.now).volume ?? null;
    if (volume !== null) this.playback?.setVolume(volume);
  }

  /** the highest volume buttons and requests may set (100 when the programme sets none) */
  maxVolume(): number {
    return this.scheduler?.volumeAt(this.now).max ?? 100;
  }

  /** what the state topic shows of the programme */
  status(): { open: boolean; onAir: string[]; chosen: { playlist: string; until: string | null } | null; from: ProgrammeOrigin['from'] } {
    const scheduler = this.scheduler;
    const now = this.now;
    const chosen = scheduler?.chosenAt(now) ?? null;
    return {
      open: scheduler?.isOpen(now) ?? true,
      onAir: scheduler?.onAir(now) ?? [],
      chosen: chosen && { playlist: chosen.playlist, until: chosen.until === null ? null : new Date(chosen.until).toISOString() },
      from: this.origin.from,
    };
  }

  /** the next items with their planned start times (the `programme` request) */
  upcoming(count: number): Array<{ kind: string; startsAt: string; title?: string; artist?: string; playlist?: string | null; until?: string | null; reason: string }> {
    const iso = (ms: number) => new Date(ms).toISOString();
    return (this.scheduler?.upcoming(this.now, Math.min(UPCOMING_MAX, count)) ?? []).map((item: Planned) =>
      item.kind === 'silence'
        ? { kind: 'silence', startsAt: iso(item.startsAt), until: item.until === null ? null : iso(item.until), reason: item.reason }
        : { kind: item.kind, startsAt: iso(item.startsAt), title: item.track.title, artist: item.track.artist, playlist: item.playlist, reason: item.reason },
    );
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.playback = null;
  }
}

const isNonEmpty = (saved: unknown) => typeof saved === 'object' && saved !== null && Object.keys(saved).length > 0;
