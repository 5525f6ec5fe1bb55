// Which next track continues the album playing, so that it follows gapless (no crossfade,
// no gap): README.md "Loudness", crossfade and gapless.

import type { Track } from '../library/track.ts';

/**
 * Whether `next` is the track after `track` on the same album, so that it plays gapless
 * (no crossfade, no gap): the same album tag, in the same folder, and the next file there
 * in name order (the library has no track numbers; albums are ripped as "01 …", "02 …").
 */
export function continuesAlbum(track: Track, next: Track, library: readonly Track[]): boolean {
  if (!track.album || track.album !== next.album || track.server || next.server) return false;
  const folder = dirname(track.path);
  if (dirname(next.path) !== folder) return false;
  let following: string | null = null;
  for (const other of library) {
    if (dirname(other.path) === folder && other.path > track.path && (following === null || other.path < following)) following = other.path;
  }
  return following === next.path;
}

const dirname = (file: string) => file.slice(0, Math.max(0, file.lastIndexOf('/')));
