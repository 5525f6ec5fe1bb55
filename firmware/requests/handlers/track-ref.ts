import type { Track } from '../../library/track.ts';
import { ON_THE_BOX } from '../../library/music-library.ts';
import { ClientError } from '../../domain/client-error.ts';
import type { RequestContext } from '../context.ts';

/** a track as replies show it; `where`: 'box', or the music server it streams from */
export function summarize(t: Track) {
  return { id: t.id, title: t.title, artist: t.artist, album: t.album, durationMs: t.durationMs, where: t.server ?? ON_THE_BOX };
}

/** Finds the track a request names, by id or by the best match on the box and its music servers. */
export async function resolveTrack(ctx: RequestContext, ref: { id?: unknown; query?: unknown }): Promise<Track> {
  if (typeof ref.id === 'string') {
    const t = ctx.box.library.get(ref.id);
    if (!t) throw new ClientError(`no track with id '${ref.id}'`);
    return t;
  }
  const q = String(ref.query ?? '');
  const {
    hits: [best],
    unreachable,
  } = await ctx.box.library.find(q, 1);
  if (!best) throw new ClientError(`no song matches "${q}"${unreachable.length ? ` (not reachable now: ${unreachable.map((u) => u.server).join(', ')})` : ''}`);
  return best.track;
}
