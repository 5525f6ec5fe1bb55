// The timers by which a programme acts on playback at wall-clock times: the fade-out
// of an item it cuts short, and the retry after it said silence (closed, or nothing to
// play). Playback (domain/playback.ts) plans them and clears them when a person
// chooses what plays or the box stops.

import type { AudioEngine } from '../audio/engine.ts';

export interface ProgrammeTimersOptions {
  engine: Pick<AudioEngine, 'latencyMs' | 'fadeOut'>;
  /** the wall clock, ms (the programme's times) */
  now: () => number;
  /** what a retry at the end of a silence does */
  resume: () => void;
}

export class ProgrammeTimers {
  private resumeTimer: NodeJS.Timeout | null = null;
  private readonly cutTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: ProgrammeTimersOptions) {}

  /**
   * An item the programme cuts short (news on the hour that interrupts, closing time)
   * fades out so that listeners hear its end at `cut.at`: the fade starts that much
   * earlier, and the stream's latency earlier again, since chunks are made ahead of
   * when they are heard. A cut planned for an item that has not started yet waits for
   * the item before it to end.
   */
  planCut(cut: { at: number; fadeMs: number; because: 'interstitial' | 'closing' | 'duration' } | null): void {
    if (!cut) return;
    const wait = cut.at - cut.fadeMs - this.options.engine.latencyMs - this.options.now();
    if (wait > 6 * 3_600_000) return; // further than an item lasts: the plan will have moved on
    const timer: NodeJS.Timeout = setTimeout(
      () => {
        this.cutTimers.delete(timer);
        this.options.engine.fadeOut(cut.fadeMs, cut.because === 'closing' ? 'stop' : 'skip');
      },
      Math.max(0, wait),
    );
    timer.unref();
    this.cutTimers.add(timer);
  }

  /** a person chose what plays (a song request, stop, a source): the programme's planned fades no longer apply */
  clearCuts(): void {
    for (const timer of this.cutTimers) clearTimeout(timer);
    this.cutTimers.clear();
  }

  /** tries the programme again at `until` (wall clock), as when the box is closed or had nothing to play */
  resumeAt(until: number | null): void {
    this.cancelResume();
    if (until === null) return;
    const wait = Math.min(6 * 3_600_000, Math.max(1000, until - this.options.now()));
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = null;
      this.options.resume();
    }, wait);
    this.resumeTimer.unref();
  }

  cancelResume(): void {
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = null;
  }
}
