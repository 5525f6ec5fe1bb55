// A playable file in the box's library, as the scanner found it.
import { createHash } from 'node:crypto';

export interface Track {
  /** Stable across rescans and moves of the music root: short hash of the root-relative path. */
  id: string;
  /** Absolute path on the box. */
  path: string;
  title: string;
  /** '' when neither tags nor the file name tell. */
  artist: string;
  /** '' when unknown. */
  album: string;
  durationMs: number;
  /** Base name with extension, e.g. "Moon River.mp3". */
  fileName: string;
  hasArtwork: boolean;
  /** International Standard Recording Code from the tags, when they carry one (play log, royalty reports) */
  isrc?: string;
  /** ReplayGain track gain (dB) and peak (linear, 1 = full scale) from the tags, when present */
  replayGainDb?: number;
  replayGainPeak?: number;
  /** Genre tags as written (a file may carry several); absent when untagged. */
  genres?: string[];
  /** Release year from the tags; absent when untagged. */
  year?: number;
  /** the music server holding it (config `servers`); absent: a file on the box. Its `path` is then the server's stream URL, without credentials */
  server?: string;
  /** on a music server: its id there, and its cover art's id */
  remoteId?: string;
  coverId?: string;
}

/** 12 hex chars of SHA-1 over the '/'-separated path relative to its music root. */
export function trackIdFor(relativePath: string): string {
  const portable = relativePath.split('\\').join('/');
  return createHash('sha1').update(portable, 'utf8').digest('hex').slice(0, 12);
}
