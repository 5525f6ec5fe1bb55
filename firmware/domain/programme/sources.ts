// Which library tracks a playlist or an interstitial rule means. A query is a list of
// entries; an entry names filters (folder, glob, files, genre, artist, album, years)
// and means the tracks that pass all of them; the query means every entry's tracks,
// in entry order, each track once. Paths are compared as '/'-separated text: the
// library holds absolute paths, and a relative folder, glob or file is matched against
// the end of a path so that a programme need not repeat the music folder.

import { trackIdFor, type Track } from '../../library/track.ts';

export interface TrackQueryConfig {
  folder?: string;
  glob?: string;
  files?: string[];
  genre?: string[];
  artist?: string[];
  album?: string[];
  years?: { from?: number; to?: number };
}

interface Entry {
  tests: Array<(track: Track) => boolean>;
  /** explicit files, in their order; null: the whole library in path order */
  files: string[] | null;
}

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

/** Compiles one entry; returns the problem (with the key it concerns) instead when there is one. */
export function compileEntry(config: TrackQueryConfig): Entry | { key: string; problem: string } {
  const tests: Entry['tests'] = [];
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
  let files: string[] | null = null;
  if (config.files !== undefined) {
    files = config.files.map((file) => portable(file.trim()));
    const blank = files.indexOf('');
    if (blank !== -1) return { key: `files/${blank}`, problem: 'names no file' };
  }
  if (tests.length === 0 && files === null) return { key: '', problem: 'names no filter (folder, glob, files, genre, artist, album or years)' };
  return { tests, files };
}

/** The tracks of a query, each once, in entry order (explicit files in their order, the rest by path). */
export function resolveQuery(query: TrackQuery, byPath: readonly Track[]): Track[] {
  const seen = new Set<string>();
  const out: Track[] = [];
  const add = (track: Track) => {
    if (seen.has(track.id)) return;
    seen.add(track.id);
    out.push(track);
  };
  for (const entry of query.entries) {
    const passes = (track: Track) => entry.tests.every((test) => test(track));
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

/** An interstitial fetched from an http(s) URL: a track that is in no library, titled by its file name, of unknown length. */
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
