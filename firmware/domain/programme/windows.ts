// Weekly windows on the wall clock ("Mon-Fri 22:00-06:00 from 2026-12-01 to
// 2026-12-24"), as used by playlists, interstitial rules, opening hours and the
// volume schedule. A window belongs to the day it starts on: its weekdays and dates
// name that day, and one that crosses midnight runs on into the next morning.
//
// Membership is a matter of the wall clock, so a window keeps its local hours across
// DST changes: 22:00-06:00 lasts nine hours on the night the clock is set back, and
// 02:00-03:00 never opens on the day that hour is skipped.

import { DAY_MS, MINUTE_MS, weekdayOf, type WallTime, type ZoneClock } from './calendar.ts';

export interface Window {
  /** bit (weekday - 1) set for each ISO weekday the window starts on */
  weekdays: number;
  /** minutes of the day; start < end, or end <= start for a window that crosses midnight */
  start: number;
  end: number;
  /** first and last day number it starts on (inclusive), null: unbounded */
  from: number | null;
  to: number | null;
}

/** Whole local days, inclusive. */
export interface DayRange {
  from: number;
  to: number;
}

export const EVERY_DAY = 0b111_1111;

export function crossesMidnight(window: Window): boolean {
  return window.end <= window.start;
}

/** Whether the window starts on `day` (its weekday and its dates allow it). */
export function startsOn(window: Window, day: number): boolean {
  if ((window.weekdays & (1 << (weekdayOf(day) - 1))) === 0) return false;
  return (window.from === null || day >= window.from) && (window.to === null || day <= window.to);
}

export function inWindow(window: Window, wall: Pick<WallTime, 'day' | 'minute'>): boolean {
  if (!crossesMidnight(window)) return wall.minute >= window.start && wall.minute < window.end && startsOn(window, wall.day);
  return (wall.minute >= window.start && startsOn(window, wall.day)) || (wall.minute < window.end && startsOn(window, wall.day - 1));
}

/** Index of the first window that holds `wall`, -1 when none does. */
export function firstWindowAt(windows: readonly Window[], wall: Pick<WallTime, 'day' | 'minute'>): number {
  return windows.findIndex((window) => inWindow(window, wall));
}

export function inDayRanges<Range extends DayRange>(ranges: readonly Range[], day: number): Range | null {
  return ranges.find((range) => day >= range.from && day <= range.to) ?? null;
}

/** Whether the window can ever open: some day in its date range falls on one of its weekdays. */
export function everOpens(window: Window): boolean {
  if (window.weekdays === 0) return false;
  if (window.from === null || window.to === null) return true;
  for (let day = window.from; day <= Math.min(window.to, window.from + 6); day++) if (startsOn(window, day)) return true;
  return false;
}

/** The minutes of the day at which any of the windows may open or close (midnight always: days and dates change there). */
export function boundaryMinutes(windows: readonly Window[]): number[] {
  const minutes = new Set<number>([0]);
  for (const window of windows) {
    minutes.add(window.start);
    minutes.add(window.end % 1440);
  }
  return [...minutes].sort((a, b) => a - b);
}

export interface Reading {
  instant: number;
  /** the reading, as local ms (for a skipped reading, the instant is the jump past it) */
  localMs: number;
}

/**
 * The instants in (after, until] at which the wall clock reads one of `minutes` (of
 * the day): twice for a reading in the hour the clock is set back, at the jump for one
 * in the hour it skips. Only the readings the clock really shows in that stretch are
 * resolved, so a check over one song costs a few look-ups.
 */
export function readings(clock: ZoneClock, minutes: readonly number[], after: number, until: number): Reading[] {
  if (!(until > after) || minutes.length === 0) return [];
  const changes = clock.offsetChanges(after, until);
  // the wall clock runs forward between offset changes: its readings lie between these
  let lowest = clock.localMs(after);
  let highest = clock.localMs(until);
  for (const change of changes) {
    lowest = Math.min(lowest, clock.localMs(change));
    highest = Math.max(highest, clock.localMs(change - 1));
  }
  const found = new Map<number, Reading>();
  for (let day = Math.floor(lowest / DAY_MS); day <= Math.floor(highest / DAY_MS); day++) {
    for (const minute of minutes) {
      const localMs = day * DAY_MS + minute * MINUTE_MS;
      if (localMs < lowest || localMs > highest) continue;
      for (const instant of clock.instantsAt(localMs)) if (instant > after && instant <= until && !found.has(instant)) found.set(instant, { instant, localMs });
    }
  }
  return [...found.values()].sort((a, b) => a.instant - b.instant);
}

const WEEK_MS = 7 * DAY_MS;

/**
 * The first instant in (after, until] at which `snapshot` reads differently than at
 * `after`, or null. `snapshot` must depend on the time only through windows whose
 * boundaries are among `minutes`: then it can change only when the wall clock passes
 * one of those readings or when the zone's offset changes, and only those are tried.
 */
export function firstChange<Snapshot>(
  clock: ZoneClock,
  minutes: readonly number[],
  after: number,
  until: number,
  snapshot: (instant: number) => Snapshot,
  same: (a: Snapshot, b: Snapshot) => boolean,
): number | null {
  const initial = snapshot(after);
  for (let from = after; from < until; from += WEEK_MS) {
    const to = Math.min(until, from + WEEK_MS);
    const candidates = new Set(readings(clock, minutes, from, to).map((reading) => reading.instant));
    for (const change of clock.offsetChanges(from, to)) candidates.add(change);
    for (const instant of [...candidates].sort((a, b) => a - b)) if (!same(snapshot(instant), initial)) return instant;
  }
  return null;
}
