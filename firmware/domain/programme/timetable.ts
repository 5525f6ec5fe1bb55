// The programme's calendar questions, all answered from the wall clock in its zone:
// is the box open, which playlists are on the air, what volume is scheduled, and when
// any of that next changes — so the box can set one timer instead of polling.

import { formatDate, isInstant, DAY_MS, type WallTime, type ZoneClock } from './calendar.ts';
import type { Programme } from './model.ts';
import { boundaryMinutes, firstChange, firstWindowAt, inDayRanges } from './windows.ts';

export type Change = 'open' | 'volume' | 'playlists';

/** How far ahead changes are looked for. */
export const HORIZON_MS = 400 * DAY_MS;

/** How far one look for the next opening or closing goes before it settles for "not before then". */
const SPAN_MS = 8 * DAY_MS;

export class Timetable {
  /** a stretch [from, until) over which the box is open throughout or closed throughout; `exact`: it changes at `until` */
  private openSpan: { from: number; until: number; exact: boolean } | null = null;

  constructor(
    private readonly programme: Programme,
    readonly clock: ZoneClock,
  ) {}

  /** Why the box is silent at `wall` (a closure, outside the opening hours), or null when it is open. */
  closedReason(wall: WallTime): string | null {
    const closure = inDayRanges(this.programme.closures, wall.day);
    if (closure) {
      const dates = closure.from === closure.to ? formatDate(closure.from) : `${formatDate(closure.from)} to ${formatDate(closure.to)}`;
      return `closed: ${dates}${closure.note ? ` (${closure.note})` : ''}`;
    }
    const hours = this.programme.openingHours;
    return hours.length > 0 && firstWindowAt(hours, wall) === -1 ? 'closed: outside the opening hours' : null;
  }

  isOpen(now: number): boolean {
    return isInstant(now) && this.closedReason(this.clock.wall(now)) === null;
  }

  /** The scheduled speaker volume (null: no volume window now, the box keeps its own), and the maximum. */
  volumeAt(now: number): { volume: number | null; max: number } {
    const { max, windows } = this.programme.volume;
    const index = isInstant(now)
      ? firstWindowAt(
          windows.map((entry) => entry.window),
          this.clock.wall(now),
        )
      : -1;
    return { volume: index === -1 ? null : Math.min(max, windows[index]?.volume ?? max), max };
  }

  /** The playlists on the air at `wall`, in configuration order. */
  onAirAt(wall: WallTime): Programme['playlists'] {
    return this.programme.playlists.filter((playlist) => playlist.windows.length === 0 || firstWindowAt(playlist.windows, wall) !== -1);
  }

  onAir(now: number): string[] {
    return isInstant(now) ? this.onAirAt(this.clock.wall(now)).map((playlist) => playlist.id) : [];
  }

  /** When opening, the volume window or the playlists on the air next change after `now`, and which; null: not within HORIZON_MS. */
  nextChange(now: number): { at: number; changes: Change[] } | null {
    const { openingHours, closures, playlists, volume } = this.programme;
    const windows = [...openingHours, ...playlists.flatMap((p) => p.windows), ...volume.windows.map((entry) => entry.window)];
    if (!isInstant(now) || (windows.length === 0 && closures.length === 0)) return null;
    const snapshot = (at: number) => ({ open: this.isOpen(at), volume: this.volumeAt(at).volume, playlists: this.onAir(at).join('\n') });
    const initial = snapshot(now);
    const same = (a: typeof initial, b: typeof initial) => a.open === b.open && a.volume === b.volume && a.playlists === b.playlists;
    const at = firstChange(this.clock, boundaryMinutes(windows), now, now + HORIZON_MS, snapshot, same);
    if (at === null) return null;
    const then = snapshot(at);
    return { at, changes: (['open', 'volume', 'playlists'] as const).filter((key) => then[key] !== initial[key]) };
  }

  /** The first instant in (from, until] at which the box opens or closes; null when it does not. */
  nextOpenChange(from: number, until: number): number | null {
    const { openingHours, closures } = this.programme;
    if (openingHours.length === 0 && closures.length === 0) return null;
    // every song asks whether the box closes before it ends: answer from the stretch already known
    let span = this.openSpan;
    if (!span || from < span.from || from >= span.until) {
      const change = firstChange(
        this.clock,
        boundaryMinutes(openingHours),
        from,
        from + SPAN_MS,
        (at) => this.isOpen(at),
        (a, b) => a === b,
      );
      this.openSpan = span = { from, until: change ?? from + SPAN_MS, exact: change !== null };
    }
    if (until < span.until) return null;
    if (span.exact) return span.until;
    return firstChange(
      this.clock,
      boundaryMinutes(openingHours),
      from,
      until,
      (at) => this.isOpen(at),
      (a, b) => a === b,
    );
  }
}
