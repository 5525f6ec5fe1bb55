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
