import type { Track } from '../../library/track.ts';
import { ClientError } from '../../domain/client-error.ts';
import type { RequestContext } from '../context.ts';

export function summarize(t: Track) {
  return { id: t.id, title: t.title, artist: t.artist, album: t.album, durationMs: t.durationMs };
}

/** Finds the track a request names, by id or by the best search match. */
export function resolveTrack(ctx: RequestContext, ref: { id?: unknown; query?: unknown }): Track {
  if (typeof ref.id === 'string') {
    const t = ctx.box.library.get(ref.id);
    if (!t) throw new ClientError(`no track with id '${ref.id}'`);
    return t;
  }
  const q = String(ref.query ?? '');
  const [best] = ctx.box.library.search(q, 1);
  if (!best) throw new ClientError(`no song matches "${q}"`);
  return best.track;
}
