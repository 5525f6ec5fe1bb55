// Wall-clock time in the programme's time zone. Every time in a programme ("07:00",
// "2026-12-24", "Monday") is local, and a shop's day follows the clock on its wall,
// also on the two nights a year when that clock jumps. Intl.DateTimeFormat already
// carries the time-zone database, so the box needs no dependency for this.
//
// Two axes: an *instant* is ms since the epoch (what the scheduler is given); a
// *local time* is the wall clock's reading written on the same scale as if the zone
// were UTC (local ms). A day number counts local calendar days from 1970-01-01.

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Instants the scheduler accepts: 1970-01-01 to 9999-12-31 (Intl formats years of four digits). */
export const LAST_INSTANT = 253_402_300_799_999;

export const isInstant = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= LAST_INSTANT;

/** What the wall clock shows at an instant. */
export interface WallTime {
  /** local calendar day, days since 1970-01-01 */
  day: number;
  /** minute of the day, 0..1439 */
  minute: number;
  /** ISO weekday, 1 Monday ... 7 Sunday */
  weekday: number;
  /** the reading as local ms */
  localMs: number;
}

/** ISO weekday of a day number (1970-01-01 was a Thursday). */
export function weekdayOf(day: number): number {
  return ((((day + 3) % 7) + 7) % 7) + 1;
}

/** "2026-03-29" → its day number; null when it is no calendar date (2026-02-30). */
export function parseDate(text: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return null;
  return Math.round(ms / DAY_MS);
}

export function formatDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** "07:30" → 450 minutes; "24:00" only when `endOfDay` (a window's exclusive end); null otherwise. */
export function parseClockTime(text: string, endOfDay = false): number | null {
  const match = /^(\d{2}):(\d{2})$/.exec(text);
  if (!match) return null;
  const [hours, minutes] = [Number(match[1]), Number(match[2])];
  if (endOfDay && hours === 24 && minutes === 0) return 1440;
  return hours < 24 && minutes < 60 ? hours * 60 + minutes : null;
}

export function formatClockTime(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

/** The canonical IANA name of a zone ("europe/berlin" → "Europe/Berlin"), or null when Intl does not know it. */
export function canonicalZone(name: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** The zone the machine runs in (TZ, /etc/localtime), as Intl reports it. */
export function systemZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const clocks = new Map<string, ZoneClock>();

/** The clock of a zone, shared: a formatter costs time to build and its offsets, once learnt, hold for every scheduler. */
export function zoneClock(zone: string): ZoneClock {
  const known = clocks.get(zone);
  if (known) return known;
  const clock = new ZoneClock(zone);
  clocks.set(zone, clock);
  return clock;
}

export class ZoneClock {
  private readonly format: Intl.DateTimeFormat;
  /** offset by UTC hour (instant / HOUR_MS), for hours without an offset change */
  private readonly hourOffsets = new Map<number, number>();

  /** `zone` must be one canonicalZone() accepts. */
  constructor(readonly zone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** The wall clock's reading at `instant`, as local ms. */
  localMs(instant: number): number {
    return instant + this.offsetMs(instant);
  }

  /**
   * Local time minus UTC at `instant`, in ms. Formatting costs microseconds and the
   * scheduler asks thousands of times a simulated day, so the offset is kept per UTC
   * hour once it is the same at both ends of that hour (no zone changes its offset
   * twice within an hour); an hour with a change is always formatted.
   */
  offsetMs(instant: number): number {
    const hour = Math.floor(instant / HOUR_MS);
    const known = this.hourOffsets.get(hour);
    if (known !== undefined) return known;
    const offset = this.formattedOffset(instant);
    if (this.formattedOffset(hour * HOUR_MS) === this.formattedOffset((hour + 1) * HOUR_MS - 1)) {
      if (this.hourOffsets.size >= 100_000) this.hourOffsets.clear();
      this.hourOffsets.set(hour, offset);
    }
    return offset;
  }

  private formattedOffset(instant: number): number {
    const fields: Record<string, number> = {};
    for (const part of this.format.formatToParts(instant)) if (part.type !== 'literal') fields[part.type] = Number(part.value);
    const wholeSeconds = Date.UTC(fields.year ?? 1970, (fields.month ?? 1) - 1, fields.day ?? 1, fields.hour ?? 0, fields.minute ?? 0, fields.second ?? 0);
    return wholeSeconds - (instant - (((instant % 1000) + 1000) % 1000));
  }

  wall(instant: number): WallTime {
    const localMs = this.localMs(instant);
    const day = Math.floor(localMs / DAY_MS);
    return { day, minute: Math.floor((localMs - day * DAY_MS) / MINUTE_MS), weekday: weekdayOf(day), localMs };
  }

  /**
   * The instants at which the wall clock reads `localMs`, earliest first: one on an
   * ordinary day, two in the hour the clock is set back, and in the hour it skips
   * forward the one instant of the jump (when the clock passes that reading).
   */
  instantsAt(localMs: number): number[] {
    const offsets = new Set([localMs - DAY_MS, localMs, localMs + DAY_MS].map((probe) => this.offsetMs(probe)));
    const found = [...offsets].map((offset) => localMs - offset).filter((instant) => this.localMs(instant) === localMs);
    if (found.length > 0) return [...new Set(found)].sort((a, b) => a - b);
    // a skipped reading: the jump lies between the two offsets' candidates; find its second
    let before = Math.floor((localMs - Math.max(...offsets)) / 1000);
    let after = Math.ceil((localMs - Math.min(...offsets)) / 1000);
    for (let step = 0; step < 40 && after - before > 1; step++) {
      const middle = Math.floor((before + after) / 2);
      if (this.localMs(middle * 1000) >= localMs) after = middle;
      else before = middle;
    }
    return [after * 1000];
  }

  /** The first instant the wall clock reads `localMs` (or passes it, when the reading is skipped). */
  firstInstantAt(localMs: number): number {
    return this.instantsAt(localMs)[0] ?? localMs;
  }

  /** The instants in (from, to] at which the zone's offset changes (the clock is set forward or back). */
  offsetChanges(from: number, to: number): number[] {
    const changes: number[] = [];
    // no zone changes its offset twice within 6 hours; probe at that step, then bisect to the second
    const step = 6 * HOUR_MS;
    let start = from;
    let offset = this.offsetMs(start);
    for (let probe = Math.min(to, from + step); start < to; probe = Math.min(to, probe + step)) {
      const probeOffset = this.offsetMs(probe);
      if (probeOffset !== offset) {
        let before = Math.floor(start / 1000);
        let after = Math.ceil(probe / 1000);
        for (let round = 0; round < 40 && after - before > 1; round++) {
          const middle = Math.floor((before + after) / 2);
          if (this.offsetMs(middle * 1000) === offset) before = middle;
          else after = middle;
        }
        if (after * 1000 > from) changes.push(after * 1000);
        offset = probeOffset;
      }
      start = probe;
    }
    return changes;
  }
}
