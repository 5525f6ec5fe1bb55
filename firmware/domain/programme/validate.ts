// Compiles the configuration's `programme` section into the Programme the scheduler
// runs, refusing what the JSON Schema cannot see: times and dates that do not exist
// ("25:00", "2026-02-30"), zones Intl does not know, windows that can never open,
// references to playlists that do not exist, sources that name nothing, triggers that
// contradict each other. Every problem is reported with its path in the configuration
// (`/programme/playlists/1/windows/0/start`), the way the config loader reports schema
// errors, and all problems at once. It never throws: even input that skipped the schema
// comes back as problems.

import { canonicalZone, parseClockTime, parseDate, systemZone, MINUTE_MS } from './calendar.ts';
import type { Closure, InterstitialRule, Playlist, Programme, ProgrammeConfig, Trigger } from './model.ts';
import { compileEntry, type TrackQuery, type TrackQueryConfig } from './sources.ts';
import { EVERY_DAY, everOpens, type Window } from './windows.ts';

export type Compiled = { ok: true; programme: Programme } | { ok: false; errors: string[] };

interface WindowConfig {
  days?: number[];
  start?: string;
  end?: string;
  from?: string;
  to?: string;
}

class Problems {
  readonly list: string[] = [];
  add(at: string, message: string, given?: unknown): void {
    this.list.push(given === undefined ? `${at} ${message}` : `${at} ${message} (got ${JSON.stringify(given)})`);
  }
}

function compileWindow(config: WindowConfig, at: string, problems: Problems): Window | null {
  const before = problems.list.length;
  const start = parseClockTime(config.start ?? '00:00');
  const end = parseClockTime(config.end ?? '24:00', true);
  if (start === null) problems.add(`${at}/start`, 'is not a time of day HH:MM (00:00 to 23:59)', config.start);
  if (end === null) problems.add(`${at}/end`, 'is not a time of day HH:MM (00:00 to 24:00)', config.end);
  let weekdays = EVERY_DAY;
  if (config.days !== undefined) {
    weekdays = 0;
    config.days.forEach((day, index) => {
      if (!Number.isInteger(day) || day < 1 || day > 7) problems.add(`${at}/days/${index}`, 'is not an ISO weekday (1 Monday to 7 Sunday)', day);
      else weekdays |= 1 << (day - 1);
    });
    if (config.days.length === 0) problems.add(`${at}/days`, 'names no day; leave it out for every day', config.days);
  }
  const date = (key: 'from' | 'to'): number | null => {
    const text = config[key];
    if (text === undefined) return null;
    const day = parseDate(text);
    if (day === null) problems.add(`${at}/${key}`, 'is not a calendar date YYYY-MM-DD', text);
    return day;
  };
  const from = date('from');
  const to = date('to');
  if (problems.list.length > before || start === null || end === null) return null;
  if (start === end) {
    problems.add(at, 'is empty: start equals end (for the whole day write 00:00 to 24:00)', { start: config.start, end: config.end });
    return null;
  }
  const window: Window = { weekdays, start, end, from, to };
  if (from !== null && to !== null && from > to) problems.add(at, 'never opens: from is after to', { from: config.from, to: config.to });
  else if (!everOpens(window)) problems.add(at, 'never opens: none of its days falls between from and to', { days: config.days, from: config.from, to: config.to });
  return window;
}

function compileWindows(configs: WindowConfig[] | undefined, at: string, problems: Problems): Window[] {
  return (configs ?? []).flatMap((config, index) => compileWindow(config, `${at}/${index}`, problems) ?? []);
}

function compileQuery(configs: TrackQueryConfig[], at: string, problems: Problems): TrackQuery {
  const entries: TrackQuery['entries'] = [];
  configs.forEach((config, index) => {
    const entry = compileEntry(config);
    if ('problem' in entry) problems.add(`${at}/${index}${entry.key ? `/${entry.key}` : ''}`, entry.problem, entry.key ? undefined : config);
    else entries.push(entry);
  });
  return { entries };
}

function checkIds(items: Array<{ id?: string }>, at: string, problems: Problems): void {
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    if (item.id === undefined || !/^[A-Za-z0-9_.-]{1,64}$/.test(item.id)) problems.add(`${at}/${index}/id`, 'is needed: 1 to 64 letters, digits, _ . or -', item.id);
    else if (seen.has(item.id)) problems.add(`${at}/${index}/id`, `repeats the id of ${at}/${seen.get(item.id)}`, item.id);
    else seen.set(item.id, index);
  });
}

function compilePlaylist(config: ProgrammeConfig['playlists'][number], at: string, problems: Problems): Playlist {
  if ((config.items ?? []).length === 0) problems.add(`${at}/items`, 'is empty: a playlist needs at least one entry (folder, glob, files, tags, urls or a music server)');
  const order = config.order ?? 'shuffle';
  const noRepeat = { songs: config.noRepeat?.songs ?? 0, ms: (config.noRepeat?.minutes ?? 0) * MINUTE_MS };
  if (config.noRepeat !== undefined && order !== 'random') problems.add(`${at}/noRepeat`, `applies to order random only (this playlist is ${order})`);
  if (config.noRepeat !== undefined && noRepeat.songs === 0 && noRepeat.ms === 0) problems.add(`${at}/noRepeat`, 'names neither songs nor minutes', config.noRepeat);
  return {
    id: config.id ?? '',
    name: config.name ?? config.id ?? '',
    query: compileQuery(config.items ?? [], `${at}/items`, problems),
    windows: compileWindows(config.windows, `${at}/windows`, problems),
    weight: config.weight ?? 1,
    order,
    noRepeat,
  };
}

function compileTrigger(config: ProgrammeConfig['interstitials'][number], at: string, problems: Problems): Trigger | null {
  const named = (['everySongs', 'everyMinutes', 'at', 'atMinute'] as const).filter((key) => config[key] !== undefined);
  if (named.length !== 1) {
    problems.add(at, `needs exactly one trigger of everySongs, everyMinutes, at, atMinute${named.length ? ` (it has ${named.join(', ')})` : ''}`);
    return null;
  }
  if (config.everySongs !== undefined) return { type: 'songs', count: config.everySongs };
  if (config.everyMinutes !== undefined) return { type: 'minutes', ms: config.everyMinutes * MINUTE_MS };
  if (config.atMinute !== undefined) return { type: 'hourly', minute: config.atMinute };
  const minutes: number[] = [];
  (config.at ?? []).forEach((text, index) => {
    const minute = parseClockTime(text);
    if (minute === null) problems.add(`${at}/at/${index}`, 'is not a time of day HH:MM (00:00 to 23:59)', text);
    else minutes.push(minute);
  });
  if ((config.at ?? []).length === 0) problems.add(`${at}/at`, 'names no time');
  return { type: 'daily', minutes: [...new Set(minutes)].sort((a, b) => a - b) };
}

function compileRule(config: ProgrammeConfig['interstitials'][number], at: string, playlistIds: Set<string>, problems: Problems): InterstitialRule | null {
  const trigger = compileTrigger(config, at, problems);
  const interrupt = config.interrupt === 'fade';
  if (interrupt && trigger && (trigger.type === 'songs' || trigger.type === 'minutes')) {
    problems.add(`${at}/interrupt`, 'fade needs a fixed time (at or atMinute): every-songs and every-minutes rules wait for the song boundary');
  }
  let source: InterstitialRule['source'] | null = null;
  if (config.source === undefined) problems.add(`${at}/source`, 'is needed: a folder, glob, files, tags, a playlist id or urls');
  else if (config.source.playlist !== undefined) {
    const { playlist, ...others } = config.source;
    if (Object.keys(others).length > 0) problems.add(`${at}/source`, `names a playlist and also ${Object.keys(others).join(', ')}: a source is one or the other`);
    else if (!playlistIds.has(playlist)) {
      problems.add(`${at}/source/playlist`, `names no playlist of this programme (known: ${[...playlistIds].join(', ') || 'none'})`, playlist);
    } else source = { playlist };
  } else {
    const entry = compileEntry(config.source);
    if ('problem' in entry) problems.add(`${at}/source${entry.key ? `/${entry.key}` : ''}`, entry.problem, entry.key ? undefined : config.source);
    else source = { query: { entries: [entry] } };
  }
  const windows = compileWindows(config.windows, `${at}/windows`, problems);
  if (!trigger || !source) return null;
  return {
    id: config.id ?? '',
    kind: config.kind ?? 'jingle',
    source,
    trigger,
    interrupt,
    priority: config.priority ?? 0,
    order: config.order ?? 'sequential',
    windows,
    lateMs: (config.lateMinutes ?? 10) * MINUTE_MS,
  };
}

function compileClosures(configs: ProgrammeConfig['closures'] | undefined, at: string, problems: Problems): Closure[] {
  const closures: Closure[] = [];
  (configs ?? []).forEach((config, index) => {
    const from = config.from === undefined ? null : parseDate(config.from);
    const to = config.to === undefined ? from : parseDate(config.to);
    if (config.from === undefined) problems.add(`${at}/${index}/from`, 'is needed: the first closed date YYYY-MM-DD');
    else if (from === null) problems.add(`${at}/${index}/from`, 'is not a calendar date YYYY-MM-DD', config.from);
    if (config.to !== undefined && to === null) problems.add(`${at}/${index}/to`, 'is not a calendar date YYYY-MM-DD', config.to);
    if (from !== null && to !== null) {
      if (to < from) problems.add(`${at}/${index}`, 'is empty: to is before from', { from: config.from, to: config.to });
      else closures.push({ from, to, note: config.note ?? '' });
    }
  });
  return closures;
}

/** The programme the scheduler runs, or every problem found, each with its path (`at` is the section's own). */
export function compileProgramme(config: ProgrammeConfig, at = '/programme'): Compiled {
  const problems = new Problems();
  try {
    let zone = systemZone();
    if (config.timeZone !== null && config.timeZone !== undefined) {
      const canonical = canonicalZone(config.timeZone);
      if (canonical === null) problems.add(`${at}/timeZone`, 'is not a time zone this system knows (an IANA name like Europe/Berlin)', config.timeZone);
      else zone = canonical;
    }
    const playlistConfigs = config.playlists ?? [];
    checkIds(playlistConfigs, `${at}/playlists`, problems);
    const playlists = playlistConfigs.map((playlist, index) => compilePlaylist(playlist, `${at}/playlists/${index}`, problems));
    const playlistIds = new Set(playlists.map((playlist) => playlist.id).filter((id) => id !== ''));
    // the names are what Home Assistant's playlist select offers: one name, one playlist
    const names = new Map<string, number>();
    const firstWithId = new Map<string, number>();
    playlists.forEach((playlist, index) => {
      if (firstWithId.has(playlist.id)) return; // a repeated id is refused already
      firstWithId.set(playlist.id, index);
      const first = names.get(playlist.name);
      if (first !== undefined && playlist.name !== '')
        problems.add(`${at}/playlists/${index}/name`, `repeats the name of ${at}/playlists/${first} (a name defaults to the id)`, playlist.name);
      else names.set(playlist.name, index);
    });
    const ruleConfigs = config.interstitials ?? [];
    checkIds(ruleConfigs, `${at}/interstitials`, problems);
    const rules = ruleConfigs.flatMap((rule, index) => compileRule(rule, `${at}/interstitials/${index}`, playlistIds, problems) ?? []);
    const openingHours = compileWindows(config.openingHours, `${at}/openingHours`, problems);
    const closures = compileClosures(config.closures, `${at}/closures`, problems);
    const max = config.volume?.max ?? 100;
    const volumeWindows = (config.volume?.windows ?? []).flatMap((windowConfig, index) => {
      const where = `${at}/volume/windows/${index}`;
      if (windowConfig.volume === undefined) problems.add(`${where}/volume`, 'is needed: the volume (0 to 100) in this window');
      else if (windowConfig.volume > max) problems.add(`${where}/volume`, `is above volume.max ${max}`, windowConfig.volume);
      const window = compileWindow(windowConfig, where, problems);
      return window && windowConfig.volume !== undefined ? [{ window, volume: windowConfig.volume }] : [];
    });
    if (problems.list.length > 0) return { ok: false, errors: problems.list };
    return {
      ok: true,
      programme: {
        zone,
        playlists,
        rules,
        minGapMs: (config.minGapMinutes ?? 0) * MINUTE_MS,
        fadeMs: config.fadeMs ?? 2000,
        openingHours,
        closures,
        volume: { max, windows: volumeWindows },
      },
    };
  } catch (error) {
    // only input that bypassed the schema (a field of the wrong type) gets here
    problems.add(at, `is not a valid programme: ${error instanceof Error ? error.message : String(error)}`);
    return { ok: false, errors: problems.list };
  }
}
