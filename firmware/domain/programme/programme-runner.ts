// Runs the kiosk's day on the box: Playback asks it what plays next (a song, a
// jingle, an ad or the news, from the scheduler), it keeps the scheduler's state on
// disk after each pick so a power cut resumes the day, and one timer follows the
// timetable: closing time stops the music (listeners stay connected and are told),
// opening time starts it, a volume window sets the speaker's volume.
// ARCHITECTURE.md "Programme".

import type { BoxEvents } from '../box-events.ts';
import type { PlanStep, ProgrammeSteps } from './plan-step.ts';
import type { Planned, ProgrammeScheduler } from './scheduler.ts';

/** the part of Playback the runner drives */
export interface ProgrammedPlayback {
  startQueue(): void;
  stopForClosing(reason: string): void;
  setVolume(volume: number): number;
}

export interface ProgrammeRunnerOptions {
  scheduler: ProgrammeScheduler;
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
  private playback: ProgrammedPlayback | null = null;
  private timer: NodeJS.Timeout | null = null;
  private open = true;

  constructor(private readonly options: ProgrammeRunnerOptions) {}

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Called by Playback for each item; `at` is when it will start (wall clock, ms). */
  next(at: number): PlanStep {
    const { item, warnings } = this.options.scheduler.next(at); // the library it was built with (the box does not rescan while running)
    for (const warning of warnings) {
      this.options.log('warn', 'programme', { warning });
      this.options.events.emit('error', { message: `programme: ${warning}` });
    }
    this.options.save(this.options.scheduler.toJSON());
    if (item.kind === 'silence') return { kind: 'silence', until: item.until, reason: item.reason };
    return { kind: item.kind, track: item.track, playlist: item.playlist, cut: item.cut && { at: item.cut.at, fadeMs: item.cut.fadeMs, because: item.cut.because } };
  }

  /** Starts following the timetable for `playback`: the volume window and the opening hours now, then at each change. */
  start(playback: ProgrammedPlayback): void {
    this.playback = playback;
    this.open = this.options.scheduler.isOpen(this.now);
    this.applyVolume();
    this.arm();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const change = this.options.scheduler.nextChange(this.now);
    if (!change) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, change.at - this.now));
    this.timer = setTimeout(() => this.onTimer(), wait);
    this.timer.unref();
  }

  private onTimer(): void {
    const open = this.options.scheduler.isOpen(this.now);
    if (open !== this.open) {
      this.open = open;
      this.options.log('info', open ? 'programme: opening time, the music starts' : 'programme: closing time, the music stops', {});
      if (open) this.playback?.startQueue();
      else this.playback?.stopForClosing('the shop is closed');
      this.options.events.emit('changed');
    }
    this.applyVolume();
    this.arm();
  }

  private applyVolume(): void {
    const { volume } = this.options.scheduler.volumeAt(this.now);
    if (volume !== null) this.playback?.setVolume(volume);
  }

  /** the highest volume buttons and requests may set (100 when the programme sets none) */
  maxVolume(): number {
    return this.options.scheduler.volumeAt(this.now).max;
  }

  /** what the state topic shows of the programme */
  status(): { open: boolean; onAir: string[] } {
    return { open: this.options.scheduler.isOpen(this.now), onAir: this.options.scheduler.onAir(this.now) };
  }

  /** the next items with their planned start times (the `programme` request) */
  upcoming(count: number): Array<{ kind: string; startsAt: string; title?: string; artist?: string; playlist?: string | null; until?: string | null; reason: string }> {
    const iso = (ms: number) => new Date(ms).toISOString();
    return this.options.scheduler
      .upcoming(this.now, Math.min(UPCOMING_MAX, count))
      .map((item: Planned) =>
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
