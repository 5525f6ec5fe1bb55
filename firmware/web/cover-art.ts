// Cover art of library files for the web companion: the picture embedded in the
// file (music-metadata), read on demand and kept for the last few tracks.

import { parseFile, selectCover } from 'music-metadata';

export interface CoverArt {
  data: Uint8Array;
  type: string;
}

export class CoverArtCache {
  private cache = new Map<string, Promise<CoverArt | null>>();

  constructor(private readonly keep = 8) {}

  /** the file's embedded cover, or null when it has none (or cannot be read) */
  get(path: string): Promise<CoverArt | null> {
    let p = this.cache.get(path);
    if (!p) {
      p = parseFile(path, { skipCovers: false, duration: false }).then(
        (m) => {
          const c = selectCover(m.common.picture);
          return c ? { data: c.data, type: c.format.includes('/') ? c.format : `image/${c.format}` } : null;
        },
        () => null,
      );
      this.cache.set(path, p);
      while (this.cache.size > this.keep) this.cache.delete(this.cache.keys().next().value!);
    }
    return p;
  }
}

/**
 * A track's cover by its id: the embedded picture of a library file, else what the
 * track's music server has (`remote`), else null.
 */
export function trackCovers(trackPath: (id: string) => string | undefined, remote?: (id: string) => Promise<CoverArt | null>, cache = new CoverArtCache()) {
  return async (id: string): Promise<CoverArt | null> => {
    const file = trackPath(id);
    return file ? cache.get(file) : ((await remote?.(id)) ?? null);
  };
}

/** what is shown when the track has no cover, or there is no track: a plain dark 96×96 JPEG */
export const NO_COVER: CoverArt = {
  type: 'image/jpeg',
  data: Buffer.from(
    '/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgQEBMQExYWFhYWFhoYGhsbGxoaGhobGxsdHR0iIiIdHR0bGx0dICAiIiUmJSMjIiMmJigoKDAwLi44ODpFRVP/xABLAAEBAAAAAAAAAAAAAAAAAAAABwEBAAAAAAAAAAAAAAAAAAAAABABAAAAAAAAAAAAAAAAAAAAABEBAAAAAAAAAAAAAAAAAAAAAP/AABEIAGAAYAMBIgACEQADEQD/2gAMAwEAAhEDEQA/AJUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD/2Q==',
    'base64',
  ),
};
