// Shared by the programme tests: programmes built through the real config loader
// (schema defaults and checks included), libraries of short songs, wall-clock helpers
// and a simulation loop that plays whatever the scheduler says, back to back.

import { loadConfig } from '../../../../../firmware/config/config.ts';
import { DAY_MS, MINUTE_MS, parseDate, parseClockTime, formatDate, formatClockTime, zoneClock } from '../../../../../firmware/domain/programme/calendar.ts';
import type { Programme, ProgrammeConfig } from '../../../../../firmware/domain/programme/model.ts';
import { SeededRandom } from '../../../../../firmware/domain/programme/random.ts';
import type { Planned, PlannedItem, ProgrammeScheduler } from '../../../../../firmware/domain/programme/scheduler.ts';
import { compileProgramme } from '../../../../../firmware/domain/programme/validate.ts';
import type { Track } from '../../../../../firmware/library/track.ts';

/** The problems a programme section gets: the config loader's schema errors, else the compiler's. */
export function problemsOf(section: Record<string, unknown>): string[] {
  let config: ProgrammeConfig;
  try {
    config = loadConfig({ overrides: { programme: section } }).programme;
  } catch (error) {
    return (error as Error).message.split('\n').map((line) => line.trim().replace(/^config: /, ''));
  }
  const compiled = compileProgramme(config);
  return compiled.ok ? [] : compiled.errors;
}

export function programmeOf(section: Record<string, unknown>): Programme {
  const config = loadConfig({ overrides: { programme: section } }).programme;
  const compiled = compileProgramme(config);
  if (!compiled.ok) throw new Error(`the test's programme is refused:\n${compiled.errors.join('\n')}`);
  return compiled.programme;
}

/** The first instant the wall clock in `zone` reads "YYYY-MM-DD HH:MM". */
export function localTime(zone: string, text: string): number {
  const [date = '', time = '00:00'] = text.split(' ');
  const day = parseDate(date);
  const minute = parseClockTime(time);
  if (day === null || minute === null) throw new Error(`not a local time: ${text}`);
  return zoneClock(zone).firstInstantAt(day * DAY_MS + minute * MINUTE_MS);
}

/** "2026-03-29 03:00 +02:00": the wall clock at an instant, with its offset, for messages. */
export function wallText(zone: string, instant: number): string {
  const clock = zoneClock(zone);
  const wall = clock.wall(instant);
  const offset = clock.offsetMs(instant) / MINUTE_MS;
  const sign = offset < 0 ? '-' : '+';
  return `${formatDate(wall.day)} ${formatClockTime(wall.minute)}:${String(Math.floor((wall.localMs % MINUTE_MS) / 1000)).padStart(2, '0')} ${sign}${formatClockTime(Math.abs(offset))}`;
}

export function track(id: string, folder: string, durationMs: number, extra: Partial<Track> = {}): Track {
  return { id, path: `/music/${folder}/${id}.mp3`, title: id, artist: '', album: '', durationMs, fileName: `${id}.mp3`, hasArtwork: false, ...extra };
}

/** `count` tracks per folder, lasting between `minMs` and `maxMs` (seeded, so every run is the same). */
export function library(folders: Record<string, number>, minMs = 20_000, maxMs = 240_000, seed = 7): Track[] {
  const random = new SeededRandom(seed);
  return Object.entries(folders).flatMap(([folder, count]) =>
    Array.from({ length: count }, (_, index) => track(`${folder}-${String(index).padStart(3, '0')}`, folder, Math.round(minMs + random.next() * (maxMs - minMs)))),
  );
}

export interface Simulation {
  items: Planned[];
  played: PlannedItem[];
  warnings: string[];
}

/** Plays what the scheduler says from `from` until `until`, each item to its planned end (a silence to its `until`). */
export function simulate(scheduler: ProgrammeScheduler, from: number, until: number, maxItems = 400_000): Simulation {
  const items: Planned[] = [];
  const warnings: string[] = [];
  for (let at = from; at < until; ) {
    if (items.length >= maxItems) throw new Error(`the simulation did not reach its end within ${maxItems} items (at ${new Date(at).toISOString()})`);
    const { item, warnings: more } = scheduler.next(at);
    items.push(item);
    warnings.push(...more);
    const end = item.kind === 'silence' ? (item.until ?? until) : item.endsAt;
    if (!(end > at)) throw new Error(`time did not advance at ${new Date(at).toISOString()}: ${JSON.stringify(item)}`);
    at = end;
  }
  return { items, played: items.filter((item): item is PlannedItem => item.kind !== 'silence'), warnings };
}
