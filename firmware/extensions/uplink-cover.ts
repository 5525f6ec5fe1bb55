// The now-playing cover for Home Assistant's image entity on the uplink
// (README.md "Home Assistant"): the picture of each track as it starts, its bytes
// as they are (the entity's image_topic), or a plain placeholder when the track has
// none, is too large to send, or nothing plays. Only the latest matters: a cover
// that arrives after the next track started is dropped.

import { type CoverArt, NO_COVER } from '../web/cover-art.ts';

/** larger covers are replaced by the placeholder (a broker or Home Assistant should not carry megabytes per track) */
export const MAX_COVER_BYTES = 512 * 1024;

export interface NowPlayingCoverOptions {
  cover(trackId: string): Promise<CoverArt | null>;
  /** the picture to publish now (retained) */
  onCover(bytes: Buffer): void;
  log(level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>): void;
}

export class NowPlayingCover {
  private latestBytes: Buffer | null = null;
  /** counts track changes: a lookup answers only if no later change came meanwhile */
  private generation = 0;

  constructor(private readonly options: NowPlayingCoverOptions) {}

  /** the last picture published, null before the first track */
  get latest(): Buffer | null {
    return this.latestBytes;
  }

  async track(trackId: string | null): Promise<void> {
    const generation = ++this.generation;
    let art: CoverArt | null = null;
    if (trackId !== null) {
      try {
        art = await this.options.cover(trackId);
      } catch (e) {
        this.options.log('warn', 'cover art could not be read', { track: trackId, error: (e as Error).message });
      }
    }
    if (generation !== this.generation) return;
    if (art && art.data.byteLength > MAX_COVER_BYTES) {
      this.options.log('info', 'cover art too large for the uplink; the placeholder is shown', { track: trackId, bytes: art.data.byteLength });
      art = null;
    }
    const bytes = Buffer.from((art ?? NO_COVER).data);
    if (this.latestBytes?.equals(bytes)) return;
    this.latestBytes = bytes;
    this.options.onCover(bytes);
  }
}
