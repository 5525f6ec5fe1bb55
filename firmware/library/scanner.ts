// Walks the music folders and turns audio files into Tracks. A bad file or a
// missing folder is a reported problem, never a failed scan: a box with one
// corrupt MP3 must still play the other thousand.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseFile, selectCover } from 'music-metadata';
import { groupOf, itemAt } from '../util/checked-index.ts';
import { trackIdFor, type Track } from './track.ts';

export interface ScanProblem {
  path: string;
  error: string;
}

export interface ScanOptions {
  onProblem?(p: ScanProblem): void;
  /** Lower-case, without the dot. Defaults to DEFAULT_AUDIO_EXTENSIONS. */
  extensions?: string[];
}

export interface ScanResult {
  tracks: Track[];
  problems: ScanProblem[];
}

export const DEFAULT_AUDIO_EXTENSIONS: readonly string[] = [
  'mp3',
  'mp2',
  'flac',
  'ogg',
  'oga',
  'opus',
  'm4a',
  'mp4',
  'aac',
  'wav',
  'aif',
  'aiff',
  'wma',
  'ape',
  'wv',
  'mpc',
  'alac',
];

const MAX_DEPTH = 16;
/** Guards memory on a box pointed at a huge disk by mistake. */
const MAX_FILES = 200_000;
const PARSE_CONCURRENCY = 4;

export interface FoundFile {
  root: string;
  path: string;
}

/**
 * Audio files under the roots, sorted by path. Dot-files and dot-folders are
 * skipped; symlinked folders are followed once (by real path), so loops end.
 */
export async function findAudioFiles(roots: string[], extensions: readonly string[] = DEFAULT_AUDIO_EXTENSIONS, report: (p: ScanProblem) => void = () => {}): Promise<FoundFile[]> {
  const wanted = new Set(extensions.map((e) => e.toLowerCase().replace(/^\./, '')));
  const seenDirs = new Set<string>();
  const found: FoundFile[] = [];

  const walk = async (root: string, dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH || found.length >= MAX_FILES) return;
    let real: string;
    try {
      real = await fs.realpath(dir);
    } catch (err) {
      report({ path: dir, error: `cannot resolve folder: ${message(err)}` });
      return;
    }
    if (seenDirs.has(real)) return; // symlink loop or the same folder reached twice
    seenDirs.add(real);
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      report({ path: dir, error: `cannot read folder: ${message(err)}` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.') || found.length >= MAX_FILES) continue;
      const full = path.join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const st = await fs.stat(full);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          report({ path: full, error: 'broken symbolic link' });
          continue;
        }
      }
      if (isDir) await walk(root, full, depth + 1);
      else if (isFile && wanted.has(extensionOf(e.name))) found.push({ root, path: full });
    }
  };

  for (const r of roots) {
    const root = path.resolve(r);
    try {
      const st = await fs.stat(root);
      if (!st.isDirectory()) {
        report({ path: root, error: 'music root is not a folder' });
        continue;
      }
    } catch (err) {
      report({ path: root, error: `music root is missing: ${message(err)}` });
      continue;
    }
    await walk(root, root, 0);
  }
  if (found.length >= MAX_FILES) report({ path: roots.join(', '), error: `stopped after ${MAX_FILES} files` });
  return found;
}

/** Scans the roots; resolves even when every file is bad. */
export async function scanLibrary(roots: string[], opts: ScanOptions = {}): Promise<ScanResult> {
  if (!Array.isArray(roots) || roots.some((r) => typeof r !== 'string' || r === '')) {
    throw new TypeError('scanLibrary: roots must be an array of non-empty folder paths');
  }
  const problems: ScanProblem[] = [];
  const report = (p: ScanProblem): void => {
    problems.push(p);
    try {
      opts.onProblem?.(p);
    } catch {
      // a throwing listener must not abort the scan
    }
  };
  const files = await findAudioFiles(roots, opts.extensions ?? DEFAULT_AUDIO_EXTENSIONS, report);

  const results: Array<Track | null> = new Array(files.length).fill(null);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      const f = files[i]!; // i < files.length (the loop's bound)
      try {
        results[i] = await readTrack(f);
      } catch (err) {
        report({ path: f.path, error: message(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARSE_CONCURRENCY, files.length) }, worker));

  const tracks: Track[] = [];
  const ids = new Set<string>();
  for (const t of results) {
    if (!t) continue;
    // Two roots may hold the same relative path; keep ids unique but still stable.
    if (ids.has(t.id)) t.id = trackIdFor(t.path);
    ids.add(t.id);
    tracks.push(t);
  }
  return { tracks, problems };
}

async function readTrack(f: FoundFile): Promise<Track> {
  const st = await fs.stat(f.path);
  if (st.size === 0) throw new Error('empty file (0 bytes)');
  let meta: Awaited<ReturnType<typeof parseFile>>;
  try {
    meta = await parseFile(f.path, { duration: true });
  } catch (err) {
    throw new Error(`unreadable audio: ${message(err)}`);
  }
  const seconds = meta.format.duration;
  // music-metadata happily "parses" random bytes as MPEG; no duration means no real audio frames.
  if (!meta.format.hasAudio || seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) {
    throw new Error('no playable audio found (corrupt or not an audio file)');
  }
  const container = meta.format.container ?? '';
  if ((container === 'MPEG' || container.startsWith('ADTS')) && !(await hasFrameChain(f.path, container !== 'MPEG'))) {
    throw new Error(`corrupt ${container} audio (no run of valid frames)`);
  }
  const fileName = path.basename(f.path);
  const guess = guessFromFileName(fileName);
  const c = meta.common;
  return {
    id: trackIdFor(path.relative(f.root, f.path)),
    path: f.path,
    title: clean(c.title) || guess.title,
    artist: clean(c.artist) || clean(c.albumartist) || guess.artist,
    album: clean(c.album),
    durationMs: Math.round(seconds * 1000),
    fileName,
    hasArtwork: (c.picture?.length ?? 0) > 0,
    ...isrcOf(c.isrc),
    ...replayGainOf(c.replaygain_track_gain?.dB, c.replaygain_track_peak?.ratio),
    // for the programme's tag queries (firmware/domain/programme/sources.ts)
    ...tagsForQueries(c.genre, c.year),
  };
}

// MPEG audio frame header tables (kbps / Hz), indexed as the header bits are.
const MPEG_BITRATES: Record<string, number[]> = {
  v1l1: [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  v1l2: [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  v1l3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2l1: [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  v2l23: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const MPEG_RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };
const CHAINED_FRAMES = 4;
const SYNC_WINDOW = 64 * 1024;

/** Byte length of the MPEG audio (mp3/mp2) or ADTS (aac) frame starting at `i`, 0 if none. */
function frameLength(buf: Uint8Array, i: number, adts: boolean): number {
  if (i + 7 > buf.length || buf[i] !== 0xff) return 0;
  // the seven header bytes from i are in the buffer (checked above)
  const b1 = buf[i + 1]!;
  const b2 = buf[i + 2]!;
  if (adts) {
    if ((b1 & 0xf6) !== 0xf0 || ((b2 >> 2) & 0xf) > 12) return 0;
    const len = ((buf[i + 3]! & 3) << 11) | (buf[i + 4]! << 3) | (buf[i + 5]! >> 5);
    return len >= 7 ? len : 0;
  }
  if ((b1 & 0xe0) !== 0xe0) return 0;
  const version = (b1 >> 3) & 3;
  const layer = (b1 >> 1) & 3;
  const rateIdx = (b2 >> 2) & 3;
  const brIdx = b2 >> 4;
  if (version === 1 || layer === 0 || rateIdx === 3 || brIdx === 0 || brIdx === 15) return 0;
  const table = version === 3 ? `v1l${4 - layer}` : layer === 3 ? 'v2l1' : 'v2l23';
  const bitrate = itemAt(MPEG_BITRATES[table] ?? [], brIdx, `MPEG bitrates ${table}`) * 1000;
  const rate = itemAt(MPEG_RATES[version] ?? [], rateIdx, `MPEG version ${version} sample rates`);
  const pad = (b2 >> 1) & 1;
  if (layer === 3) return (Math.floor((12 * bitrate) / rate) + pad) * 4;
  const perFrame = layer === 1 && version !== 3 ? 72 : 144;
  return Math.floor((perFrame * bitrate) / rate) + pad;
}

/**
 * Random bytes contain frame syncs by chance, and music-metadata then reports
 * stray "frames". Real MPEG/ADTS audio is a chain of frames, each header
 * pointing at the next: demand a few chained ones near the start.
 */
async function hasFrameChain(file: string, adts: boolean): Promise<boolean> {
  const fh = await fs.open(file, 'r');
  try {
    const head = new Uint8Array(10);
    await fh.read(head, 0, 10, 0);
    const byte = new DataView(head.buffer);
    let start = 0;
    if (head[0] === 0x49 && head[1] === 0x44 && head[2] === 0x33) {
      // ID3v2: syncsafe size, plus an optional footer
      start = 10 + ((byte.getUint8(6) << 21) | (byte.getUint8(7) << 14) | (byte.getUint8(8) << 7) | byte.getUint8(9)) + (byte.getUint8(5) & 0x10 ? 10 : 0);
    }
    const buf = new Uint8Array(SYNC_WINDOW + 16 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    const data = buf.subarray(0, bytesRead);
    for (let i = 0; i < Math.min(SYNC_WINDOW, data.length); i++) {
      let at = i;
      let n = 0;
      while (n < CHAINED_FRAMES) {
        const len = frameLength(data, at, adts);
        if (len === 0) break;
        at += len;
        n++;
        if (at >= data.length) break; // a short file that ends on a frame boundary is fine
      }
      if (n >= CHAINED_FRAMES || (n >= 1 && at === data.length && at === bytesRead && bytesRead < buf.length)) return true;
    }
    return false;
  } finally {
    await fh.close();
  }
}

/** "01 - Artist - Title.mp3" → {artist, title}; "Title.mp3" → {artist: '', title}. */
export function guessFromFileName(fileName: string): { artist: string; title: string } {
  const ext = extensionOf(fileName);
  let stem = (ext ? fileName.slice(0, -(ext.length + 1)) : fileName).replace(/_/g, ' ').trim();
  // Strip a track number only when it is clearly one ("01 ", "3. ", "12 - "), so "99 Luftballons" survives.
  const noNumber = stem.replace(/^(?:\d{1,3}\s*[-.)]\s*|0\d\s+)(?=\S)/, '');
  if (noNumber) stem = noNumber;
  const m = /^(.+?)\s+[-–—]\s+(.+)$/.exec(stem);
  if (m) return { artist: groupOf(m, 1).trim(), title: groupOf(m, 2).trim() };
  return { artist: '', title: stem || fileName };
}

/** The embedded cover picture, read on demand so the index stays small. */
export async function loadArtwork(track: Pick<Track, 'path'>): Promise<{ mime: string; data: Uint8Array } | null> {
  try {
    const meta = await parseFile(track.path, { duration: false });
    const cover = selectCover(meta.common.picture);
    return cover ? { mime: cover.format, data: cover.data } : null;
  } catch {
    return null; // a file that went bad since the scan simply has no artwork
  }
}

/** ReplayGain tags, when they hold plausible numbers */
function replayGainOf(gainDb: number | undefined, peak: number | undefined): { replayGainDb?: number; replayGainPeak?: number } {
  if (typeof gainDb !== 'number' || !Number.isFinite(gainDb) || Math.abs(gainDb) > 60) return {};
  return { replayGainDb: gainDb, ...(typeof peak === 'number' && peak > 0 && peak < 10 ? { replayGainPeak: peak } : {}) };
}

/** the first well-formed ISRC of the tags (CC-XXX-YY-NNNNN, dashes optional) */
function isrcOf(tags: string[] | undefined): { isrc?: string } {
  for (const tag of tags ?? []) {
    const code = clean(tag).replace(/-/g, '').toUpperCase();
    if (/^[A-Z]{2}[A-Z0-9]{3}\d{7}$/.test(code)) return { isrc: code };
  }
  return {};
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** Genres and year when the tags hold them; nothing otherwise, so untagged tracks stay as small as before. */
function tagsForQueries(genre: string[] | undefined, year: number | undefined): Pick<Track, 'genres' | 'year'> {
  const genres = (genre ?? []).map((g) => clean(g)).filter((g) => g !== '');
  return {
    ...(genres.length > 0 ? { genres } : {}),
    ...(year !== undefined && Number.isInteger(year) && year > 0 && year < 10000 ? { year } : {}),
  };
}

function clean(s: string | undefined): string {
  return (s ?? '').replace(/\0/g, '').trim();
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
