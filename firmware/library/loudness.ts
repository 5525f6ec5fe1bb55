// Even loudness across the library (EBU R128): each track's integrated loudness and
// true peak are measured once with ffmpeg's ebur128 filter, in the background, one
// file at a time at low priority, and kept in <stateDir>/loudness.json (keyed by
// track id, file size and modification time, so a changed file is measured again).
// Until a track is measured its ReplayGain tags stand in when it has them. Playback
// then applies gainDbFor(): the gain to the target loudness, held down so that the
// true peak stays under the ceiling (no clipping).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { writeAtomic } from '../util/state-store.ts';
import type { Track } from './track.ts';

export interface Loudness {
  integratedLufs: number;
  truePeakDbtp: number;
  from: 'measured' | 'replaygain';
}

/** ReplayGain 2 is referenced to −18 LUFS: a track's gain tag says how far it is from that */
const REPLAYGAIN_REFERENCE_LUFS = -18;
/** gains beyond these are a measurement gone wrong (silence, a test tone), not music */
const MAX_BOOST_DB = 20;
const MAX_CUT_DB = 30;
const MEASURE_TIMEOUT_MS = 120_000;

/** The summary of ffmpeg's `ebur128=peak=true` (its stderr); null when it has none. */
export function parseEbur128(stderr: string): { integratedLufs: number; truePeakDbtp: number } | null {
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const integrated = /I:\s+(-?\d+(?:\.\d+)?|-inf) LUFS/.exec(summary);
  const peak = /Peak:\s+(-?\d+(?:\.\d+)?|-inf) dBFS/.exec(summary);
  if (!integrated || !peak) return null;
  const number = (text: string) => (text === '-inf' ? -Infinity : Number(text));
  return { integratedLufs: number(integrated[1]!), truePeakDbtp: number(peak[1]!) };
}

/**
 * Measures one file; rejects with ffmpeg's reason, or at once when `signal` aborts (the ffmpeg is
 * killed). `niceness` is the ffmpeg's nice increment: 19, the lowest priority, in the box.
 */
export function measureLoudness(file: string, signal?: AbortSignal, { program = 'ffmpeg', niceness = 19 } = {}): Promise<{ integratedLufs: number; truePeakDbtp: number }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('loudness measurement stopped'));
    const args = ['-nostdin', '-hide_banner', '-nostats', '-i', `file:${file}`, '-vn', '-af', 'ebur128=peak=true', '-f', 'null', '-'];
    // the box measures at the lowest CPU priority: the audio engine and the listeners come first
    const child = spawn('nice', ['-n', String(niceness), program, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8192);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), MEASURE_TIMEOUT_MS);
    // at the lowest priority on a busy machine a file can take minutes: a stopping box does not wait for it
    const abort = () => {
      child.kill('SIGKILL');
      reject(new Error('loudness measurement stopped'));
    };
    signal?.addEventListener('abort', abort, { once: true });
    child.on('error', (e) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      const result = parseEbur128(stderr);
      if (code === 0 && result) resolve(result);
      else reject(new Error(`ffmpeg ebur128 exited ${code}: ${stderr.trim().split('\n').at(-1)?.slice(0, 200) ?? ''}`));
    });
  });
}

/** The gain (dB) that brings `loudness` to the target without the true peak passing the ceiling; 0 when unknown. */
export function gainDbFor(loudness: Loudness | null, targetLufs: number, ceilingDbtp: number): number {
  if (!loudness || !Number.isFinite(loudness.integratedLufs)) return 0;
  let gain = targetLufs - loudness.integratedLufs;
  if (Number.isFinite(loudness.truePeakDbtp)) gain = Math.min(gain, ceilingDbtp - loudness.truePeakDbtp);
  return Math.round(Math.max(-MAX_CUT_DB, Math.min(MAX_BOOST_DB, gain)) * 100) / 100;
}

interface Entry {
  size: number;
  mtimeMs: number;
  integratedLufs: number;
  truePeakDbtp: number;
}

export interface LoudnessIndexOptions {
  /** where the measurements are kept */
  file: string;
  /** measures one file; rejects at once when `signal` aborts */
  measure?: (file: string, signal: AbortSignal) => Promise<{ integratedLufs: number; truePeakDbtp: number }>;
  log(level: 'info' | 'warn', msg: string, extra?: object): void;
}

export class LoudnessIndex {
  private entries = new Map<string, Entry>();
  private readonly stopping = new AbortController();
  private running: Promise<void> | null = null;

  constructor(private readonly options: LoudnessIndexOptions) {
    this.load();
  }

  /** what is known of a track: measured (while the file is unchanged), else its ReplayGain tags, else null */
  get(track: Track): Loudness | null {
    const entry = this.entries.get(track.id);
    if (entry && this.unchanged(track, entry)) return { integratedLufs: entry.integratedLufs, truePeakDbtp: entry.truePeakDbtp, from: 'measured' };
    if (track.replayGainDb !== undefined) {
      const peak = track.replayGainPeak !== undefined && track.replayGainPeak > 0 ? 20 * Math.log10(track.replayGainPeak) : NaN;
      return { integratedLufs: REPLAYGAIN_REFERENCE_LUFS - track.replayGainDb, truePeakDbtp: peak, from: 'replaygain' };
    }
    return null;
  }

  /** Measures, one after another, the tracks not yet measured; resolves when done (or stopped). */
  measureAll(tracks: Track[]): Promise<void> {
    this.running ??= this.run(tracks).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(tracks: Track[]): Promise<void> {
    const todo = tracks.filter((t) => {
      const e = this.entries.get(t.id);
      return !e || !this.unchanged(t, e);
    });
    if (todo.length === 0) return;
    this.options.log('info', 'measuring loudness', { tracks: todo.length });
    const measure = this.options.measure ?? measureLoudness;
    let measured = 0;
    for (const track of todo) {
      if (this.stopping.signal.aborted) break;
      let stat: fs.Stats;
      try {
        stat = fs.statSync(track.path);
        const result = await measure(track.path, this.stopping.signal);
        this.entries.set(track.id, { size: stat.size, mtimeMs: stat.mtimeMs, ...result });
        measured++;
        if (measured % 20 === 0) this.save();
      } catch (e) {
        if (this.stopping.signal.aborted) break; // the file under way is measured again at the next start
        this.options.log('warn', 'cannot measure the loudness of a track; it plays without gain', { path: track.path, error: (e as Error).message });
      }
    }
    this.save();
    this.options.log('info', 'loudness measured', { tracks: measured });
  }

  private unchanged(track: Track, entry: Entry): boolean {
    try {
      const stat = fs.statSync(track.path);
      return stat.size === entry.size && Math.abs(stat.mtimeMs - entry.mtimeMs) < 1;
    } catch {
      return false;
    }
  }

  private load(): void {
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(this.options.file, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.options.log('warn', 'the loudness measurements are unreadable; measuring again', { file: this.options.file, error: (e as Error).message });
      return;
    }
    const entries = (raw as { tracks?: unknown })?.tracks;
    if (!entries || typeof entries !== 'object') return;
    for (const [id, value] of Object.entries(entries)) {
      const e = value as Partial<Entry>;
      const ok = typeof e.size === 'number' && typeof e.mtimeMs === 'number' && typeof e.integratedLufs === 'number' && typeof e.truePeakDbtp === 'number';
      if (ok && /^[0-9a-f]{12}$/.test(id)) this.entries.set(id, e as Entry);
    }
  }

  private save(): void {
    try {
      writeAtomic(this.options.file, JSON.stringify({ version: 1, tracks: Object.fromEntries(this.entries) }));
    } catch (e) {
      this.options.log('warn', 'cannot save the loudness measurements', { file: this.options.file, error: (e as Error).message });
    }
  }

  /** stops measuring: the file under way is abandoned, what was measured is kept */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }
}
