// A fresh box with an empty music folder still has something to play and
// search: a handful of short synthesized songs, tagged like real ones (with an
// accented and a Japanese title) and in mixed formats so the decoders and the
// scanner see variety.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { groupOf } from '../util/checked-index.ts';
import { findAudioFiles } from './scanner.ts';

export interface DemoOptions {
  /** ffmpeg binary; defaults to "ffmpeg" on the PATH. */
  ffmpeg?: string;
}

interface DemoSong {
  title: string;
  artist: string;
  album: string;
  seconds: number;
  /** Seconds per chord. */
  beat: number;
  /** Chord progression: each chord is three frequencies in Hz. */
  chords: Array<[number, number, number]>;
  /** Strength of the octave overtone: the songs should not all sound the same. */
  brightness: number;
  /** Preferred container first; falls back along FORMAT_FALLBACK. */
  format: FormatName;
}

type FormatName = 'mp3' | 'flac' | 'opus' | 'ogg' | 'm4a' | 'wav';

interface Format {
  encoder: string;
  ext: string;
  muxer: string;
  args: string[];
}

const FORMATS: Record<FormatName, Format> = {
  mp3: { encoder: 'libmp3lame', ext: 'mp3', muxer: 'mp3', args: ['-b:a', '160k', '-id3v2_version', '3'] },
  flac: { encoder: 'flac', ext: 'flac', muxer: 'flac', args: [] },
  opus: { encoder: 'libopus', ext: 'opus', muxer: 'opus', args: ['-b:a', '96k'] },
  ogg: { encoder: 'libvorbis', ext: 'ogg', muxer: 'ogg', args: ['-q:a', '4'] },
  m4a: { encoder: 'aac', ext: 'm4a', muxer: 'ipod', args: ['-b:a', '128k'] },
  wav: { encoder: 'pcm_s16le', ext: 'wav', muxer: 'wav', args: [] },
};
const FORMAT_FALLBACK: FormatName[] = ['flac', 'wav'];

// Note frequencies (Hz) used by the progressions below.
const N = { A2: 110, C3: 130.8, D3: 146.8, E3: 164.8, F3: 174.6, G3: 196, A3: 220, Bb3: 233.1, B3: 246.9, C4: 261.6, D4: 293.7, E4: 329.6, F4: 349.2, G4: 392, A4: 440 };

export const DEMO_SONGS: readonly DemoSong[] = [
  {
    title: 'Moon River',
    artist: 'Demo Quartet',
    album: 'Nearcast Demo Sessions',
    seconds: 30,
    beat: 2.5,
    brightness: 0.3,
    format: 'mp3',
    chords: [
      [N.C4, N.E4, N.G4],
      [N.A3, N.C4, N.E4],
      [N.F3, N.A3, N.C4],
      [N.G3, N.B3, N.D4],
    ],
  },
  {
    title: 'Café Olé',
    artist: 'Orquesta Pequeña',
    album: 'Nearcast Demo Sessions',
    seconds: 24,
    beat: 1.5,
    brightness: 0.6,
    format: 'flac',
    chords: [
      [N.A3, N.C4, N.E4],
      [N.D4, N.F4, N.A4],
      [N.E3, N.G3, N.B3],
      [N.A3, N.C4, N.E4],
    ],
  },
  {
    title: '月の光',
    artist: '夜の楽団',
    album: '夜の音',
    seconds: 36,
    beat: 3,
    brightness: 0.15,
    format: 'opus',
    chords: [
      [N.D3, N.F3, N.A3],
      [N.Bb3, N.D4, N.F4],
      [N.F3, N.A3, N.C4],
      [N.C3, N.E3, N.G3],
    ],
  },
  {
    title: 'Blue Monday Morning',
    artist: 'The Weekday Blues',
    album: 'Nearcast Demo Sessions',
    seconds: 28,
    beat: 2,
    brightness: 0.45,
    format: 'ogg',
    chords: [
      [N.E3, N.G3, N.B3],
      [N.A3, N.C4, N.E4],
      [N.E3, N.G3, N.B3],
      [N.B3, N.D4, N.F4],
    ],
  },
  {
    title: 'Neon Tide',
    artist: 'Synth Harbor',
    album: 'Nearcast Demo Sessions',
    seconds: 22,
    beat: 1,
    brightness: 0.8,
    format: 'm4a',
    chords: [
      [N.E4, N.G4, N.B3],
      [N.C4, N.E4, N.G4],
      [N.G3, N.B3, N.D4],
      [N.D4, N.F4, N.A4],
    ],
  },
];

const FFMPEG_TIMEOUT_MS = 120_000;
const PARALLEL_ENCODES = 3;

/**
 * Generates the demo songs into `dir` unless it already holds audio.
 * Resolves with the files it wrote (or the audio already there, with created: false).
 */
export async function ensureDemoLibrary(dir: string, opts: DemoOptions = {}): Promise<{ created: boolean; files: string[] }> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('ensureDemoLibrary: dir must be a folder path');
  const root = path.resolve(dir);
  await fs.mkdir(root, { recursive: true });
  const existing = await findAudioFiles([root]);
  if (existing.length > 0) return { created: false, files: existing.map((f) => f.path) };

  const ffmpeg = opts.ffmpeg ?? 'ffmpeg';
  const encoders = await listEncoders(ffmpeg);
  const jobs = DEMO_SONGS.map((song) => () => renderSong(ffmpeg, encoders, song, root));
  const files: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) files.push(await jobs[next++]!());
  };
  await Promise.all(Array.from({ length: PARALLEL_ENCODES }, worker));
  files.sort();
  return { created: true, files };
}

async function listEncoders(ffmpeg: string): Promise<Set<string>> {
  const out = await run(ffmpeg, ['-hide_banner', '-encoders']);
  const names = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^\s*[AVS][.A-Z]{5}\s+(\S+)/.exec(line);
    if (m) names.add(groupOf(m, 1));
  }
  return names;
}

async function renderSong(ffmpeg: string, encoders: Set<string>, song: DemoSong, dir: string): Promise<string> {
  const choice = [song.format, ...FORMAT_FALLBACK].map((n) => FORMATS[n]).find((f) => encoders.has(f.encoder));
  if (!choice) throw new Error(`${ffmpeg} has none of the encoders the demo needs (flac, pcm_s16le)`);
  const base = `${song.artist} - ${song.title}.${choice.ext}`;
  const final = path.join(dir, base);
  // Hidden temp name: the scanner skips it, and rename makes the song appear whole or not at all.
  const temp = path.join(dir, `.${base}.partial-${process.pid}`);
  const fadeOut = song.seconds - 3;
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `aevalsrc=exprs='${voice(song, 1)}|${voice(song, 1.004)}':s=48000:d=${song.seconds}`,
    '-af',
    `afade=t=in:d=1.5,afade=t=out:st=${fadeOut}:d=3`,
    '-ar',
    '48000',
    '-ac',
    '2',
    '-c:a',
    choice.encoder,
    ...choice.args,
    '-metadata',
    `title=${song.title}`,
    '-metadata',
    `artist=${song.artist}`,
    '-metadata',
    `album=${song.album}`,
    '-metadata',
    'genre=Demo',
    '-f',
    choice.muxer,
    temp,
  ];
  try {
    await run(ffmpeg, args);
    await fs.rename(temp, final);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  return final;
}

/**
 * One channel of the song as an aevalsrc expression: each chord swells and
 * fades within its beat (zero at both ends, so chord changes do not click),
 * plus a bass an octave under the root. `detune` widens the stereo image.
 */
function voice(song: DemoSong, detune: number): string {
  const cycle = song.beat * song.chords.length;
  const pos = `mod(t,${cycle})`;
  const pick = (note: 0 | 1 | 2): string =>
    song.chords.reduceRight<string>(
      (rest, chord, i) => (i === song.chords.length - 1 ? fmt(chord[note] * detune) : `if(lt(${pos},${fmt(song.beat * (i + 1))}),${fmt(chord[note] * detune)},${rest})`),
      '',
    );
  const m = `mod(t,${song.beat})`;
  const env = `sin(PI*${m}/${song.beat})*(0.6+0.4*exp(-3*${m}))`;
  const tones = ([0, 1, 2] as const).map((k) => `0.15*(sin(2*PI*${pick(k)}*t)+${song.brightness}*sin(4*PI*${pick(k)}*t))`);
  const bass = `0.16*sin(PI*${pick(0)}*t)`;
  return `(${tones.join('+')}+${bass})*${env}`;
}

function fmt(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/** Runs a binary without a shell; resolves with stdout, rejects with stderr's tail. */
function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < 1_000_000) stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-2000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), FFMPEG_TIMEOUT_MS);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT' ? new Error(`ffmpeg not found ('${bin}'); the demo library needs it: apt-get install ffmpeg`) : new Error(`could not start ${bin}: ${err.message}`),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${bin} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no output'}`));
    });
  });
}
