// Which tracks a playlist or an interstitial rule means. A query is a list of
// entries; an entry names filters (folder, glob, files, genre, artist, album, years)
// and means the library tracks that pass all of them, or lists http(s) URLs (items
// fetched when they play), or names a radio station played for some minutes, or asks a
// music server (`server`: its songs of a genre, an artist, an album or a search,
// resolved by server-tracks.ts); the query means every entry's tracks, in entry
// order, each track once. Paths are compared as '/'-separated text: the library holds
// absolute paths, and a relative folder, glob or file is matched against the end of a
// path so that a programme need not repeat the music folder.

import { trackIdFor, type Track } from '../../library/track.ts';

export interface TrackQueryConfig {
  folder?: string;
  glob?: string;
  files?: string[];
  genre?: string[];
  artist?: string[];
  album?: string[];
  years?: { from?: number; to?: number };
  /** http(s) items, fetched when they play (alone in their entry) */
  urls?: string[];
  /** a music server of config `servers` (or added over MQTT): its songs, asked with `search` or the tag filters */
  server?: string;
  search?: string;
  /** a radio station by name (config `stations`, or added over MQTT), played this many minutes each time it is picked */
  station?: string;
  minutes?: number;
}

type TrackTest = (track: Track) => boolean;

export interface LibraryEntry {
  kind: 'library';
  tests: TrackTest[];
  /** explicit files, in their order; null: the whole library in path order */
  files: string[] | null;
}

/** one request to a music server: a text search (search3) or a genre's songs (getSongsByGenre) */
export type ServerCall = { search: string } | { genre: string };

export interface ServerEntry {
  kind: 'server';
  server: string;
  /** what the server is asked; the answers are merged, then filtered by `tests` */
  calls: ServerCall[];
  tests: TrackTest[];
  /** the same server and calls give the same key: what a cache keeps the answer under */
  key: string;
}

/** items the entry names itself: http(s) URLs, or a radio station for a while */
export interface FixedEntry {
  kind: 'fixed';
  tracks: Track[];
}

export type Entry = LibraryEntry | FixedEntry | ServerEntry;

export interface TrackQuery {
  entries: Entry[];
}

/** Lower case, accents and surrounding blanks dropped: "Beyoncé " and "beyonce" are one artist. */
export function normalizeTag(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim();
}

const portable = (file: string) => file.split('\\').join('/').replace(/\/+$/, '');

/** Whether `path` is `tail` or ends with '/' + `tail` (whole path segments only). */
function endsWithSegments(path: string, tail: string): boolean {
  return path === tail || path.endsWith('/' + tail);
}

/** A glob as a regular expression over a whole path, or an error message. */
export function globPattern(glob: string): RegExp | string {
  let source = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const char = glob.charAt(i);
    if (char === '*') {
      if (glob.charAt(i + 1) === '*') {
        const slash = glob.charAt(i + 2) === '/';
        source += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else source += '[^/]*';
    } else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) return `unclosed [ at character ${i + 1}`;
      let set = glob.slice(i + 1, close);
      const negated = set.startsWith('!') || set.startsWith('^');
      if (negated) set = set.slice(1);
      source += `[${negated ? '^/' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else if (char === '{') {
      braces++;
      source += '(?:';
    } else if (char === '}' && braces > 0) {
      braces--;
      source += ')';
    } else if (char === ',' && braces > 0) source += '|';
    else source += char.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  if (braces > 0) return 'unclosed {';
  const anchored = glob.startsWith('/') ? `^${source}$` : `(?:^|/)${source}$`;
  try {
    return new RegExp(anchored, 'u');
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

type Problem = { key: string; problem: string };

/** Compiles one entry; returns the problem (with the key it concerns) instead when there is one. */
export function compileEntry(config: TrackQueryConfig): Entry | Problem {
  if (config.urls !== undefined) {
    const others = Object.keys(config).filter((key) => key !== 'urls');
    if (others.length > 0) return { key: '', problem: `names urls and also ${others.join(', ')}: an entry is one or the other` };
    if (config.urls.length === 0) return { key: 'urls', problem: 'names no URL' };
    return { kind: 'fixed', tracks: config.urls.map(urlTrack) };
  }
  if (config.station !== undefined || config.minutes !== undefined) {
    const others = Object.keys(config).filter((key) => key !== 'station' && key !== 'minutes');
    if (config.station === undefined) return { key: '', problem: 'names minutes but no station: minutes is how long a station plays' };
    if (others.length > 0) return { key: '', problem: `names a station and also ${others.join(', ')}: an entry is one or the other` };
    if (config.station.trim() === '') return { key: 'station', problem: 'names no station' };
    if (config.minutes === undefined) return { key: 'minutes', problem: 'is needed with station: how long the station plays each time it is picked' };
    return { kind: 'fixed', tracks: [stationTrack(config.station.trim(), config.minutes * 60_000)] };
  }
  if (config.server !== undefined || config.search !== undefined) return compileServerEntry(config);
  const tests = compileTagTests(config);
  if ('problem' in tests) return tests;
  if (config.folder !== undefined) {
    const folder = portable(config.folder.trim());
    if (folder === '' || folder === '.') return { key: 'folder', problem: 'names no folder' };
    if (folder.startsWith('/')) tests.push((track) => portable(track.path).startsWith(folder + '/'));
    else tests.push((track) => portable(track.path).includes(`/${folder}/`) || portable(track.path).startsWith(`${folder}/`));
  }
  if (config.glob !== undefined) {
    const pattern = globPattern(portable(config.glob.trim()));
    if (typeof pattern === 'string') return { key: 'glob', problem: `is not a usable pattern: ${pattern}` };
    tests.push((track) => pattern.test(portable(track.path)));
  }
  let files: string[] | null = null;
  if (config.files !== undefined) {
    files = config.files.map((file) => portable(file.trim()));
    const blank = files.indexOf('');
    if (blank !== -1) return { key: `files/${blank}`, problem: 'names no file' };
  }
  if (tests.length === 0 && files === null) return { key: '', problem: 'names no filter (folder, glob, files, genre, artist, album or years)' };
  return { kind: 'library', tests, files };
}

/** The tests of the tag filters (genre, artist, album, years) an entry names. */
function compileTagTests(config: TrackQueryConfig): TrackTest[] | Problem {
  const tests: TrackTest[] = [];
  for (const key of ['genre', 'artist', 'album'] as const) {
    const wanted = new Set((config[key] ?? []).map(normalizeTag).filter((value) => value !== ''));
    if (config[key] === undefined) continue;
    if (wanted.size === 0) return { key, problem: 'names no value' };
    if (key === 'genre') tests.push((track) => (track.genres ?? []).some((genre) => wanted.has(normalizeTag(genre))));
    else tests.push((track) => wanted.has(normalizeTag(track[key])));
  }
  if (config.years !== undefined) {
    const { from = 0, to = 9999 } = config.years;
    if (from > to) return { key: 'years', problem: `is an empty range: from ${from} is after to ${to}` };
    tests.push((track) => track.year !== undefined && track.year >= from && track.year <= to);
  }
  return tests;
}

/**
 * A music server's entry. What the server is asked: the search text, else each genre
 * (getSongsByGenre), else each artist or album name (search3, which also matches titles:
 * the tag filters then keep only the songs that really carry the tag).
 */
function compileServerEntry(config: TrackQueryConfig): Entry | Problem {
  const server = config.server?.trim() ?? '';
  if (server === '') return { key: config.server === undefined ? '' : 'server', problem: config.server === undefined ? 'has search but names no server' : 'names no server' };
  for (const key of ['folder', 'glob', 'files'] as const) {
    if (config[key] !== undefined) return { key, problem: `applies to the box's own files, not to a music server's songs (server ${JSON.stringify(server)})` };
  }
  const search = config.search?.trim();
  if (search === '') return { key: 'search', problem: 'names no text' };
  const tests = compileTagTests(config);
  if ('problem' in tests) return tests;
  const values = (key: 'genre' | 'artist' | 'album') => (config[key] ?? []).map((value) => value.trim()).filter((value) => value !== '');
  let calls: ServerCall[];
  if (search !== undefined) calls = [{ search }];
  else if (config.genre !== undefined) calls = values('genre').map((genre) => ({ genre }));
  else calls = [...values('artist'), ...values('album')].map((name) => ({ search: name }));
  if (calls.length === 0) return { key: '', problem: 'asks the server for nothing: give search, genre, artist or album' };
  // a genre's songs carry that genre: the filter would only drop those a server tags differently
  const kept = search === undefined && config.genre !== undefined ? compileTagTests({ ...config, genre: undefined }) : tests;
  if ('problem' in kept) return kept;
  return { kind: 'server', server, calls, tests: kept, key: JSON.stringify([server, calls]) };
}

/** a music server's answer to an entry (server-tracks.ts): the songs known now, [] when none are (yet) */
export type ServerSongs = (entry: ServerEntry) => readonly Track[];

/**
 * The tracks of a query, each once, in entry order (explicit files in their order, the
 * rest by path; URL items and a server's songs in their own order). Without `serverSongs`
 * a server's entry means nothing.
 */
export function resolveQuery(query: TrackQuery, byPath: readonly Track[], serverSongs?: ServerSongs): Track[] {
  const seen = new Set<string>();
  const out: Track[] = [];
  const add = (track: Track) => {
    if (seen.has(track.id)) return;
    seen.add(track.id);
    out.push(track);
  };
  for (const entry of query.entries) {
    if (entry.kind === 'fixed') {
      for (const track of entry.tracks) add(track);
      continue;
    }
    const passes = (track: Track) => entry.tests.every((test) => test(track));
    if (entry.kind === 'server') {
      for (const track of serverSongs?.(entry) ?? []) if (passes(track)) add(track);
      continue;
    }
    if (entry.files === null) {
      for (const track of byPath) if (passes(track)) add(track);
      continue;
    }
    for (const file of entry.files) {
      for (const track of byPath) if (endsWithSegments(portable(track.path), file) && passes(track)) add(track);
    }
  }
  return out;
}

/** A resolved list with its index by id, kept until the library changes. */
export interface TrackList {
  tracks: Track[];
  indexOf: Map<string, number>;
}

export function trackList(tracks: Track[]): TrackList {
  return { tracks, indexOf: new Map(tracks.map((track, index) => [track.id, index])) };
}

/** An item fetched from an http(s) URL: a track that is in no library, titled by its file name, of unknown length. */
export function urlTrack(url: string): Track {
  let fileName = url;
  try {
    fileName = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '') || new URL(url).host;
  } catch {
    /* the schema let through only http(s) URLs; keep the text */
  }
  return { id: trackIdFor(`url:${url}`), path: url, title: fileName.replace(/\.[A-Za-z0-9]{1,5}$/, ''), artist: '', album: '', durationMs: 0, fileName, hasArtwork: false };
}

/** whether a programme track is fetched from a URL rather than a library file */
export const isUrlTrack = (track: Track): boolean => /^https?:\/\//i.test(track.path);

const STATION_PATH = 'station:';

/** A radio station as a programme item: it plays for `ms`, then fades out for the next item. Its stream is found by name when it plays. */
export function stationTrack(name: string, ms: number): Track {
  return { id: trackIdFor(`${STATION_PATH}${name}`), path: `${STATION_PATH}${name}`, title: name, artist: '', album: '', durationMs: ms, fileName: name, hasArtwork: false };
}

/** the station a programme item plays (null: not a station) */
export const stationOf = (track: Track): string | null => (track.path.startsWith(STATION_PATH) && !track.server ? track.path.slice(STATION_PATH.length) : null);
