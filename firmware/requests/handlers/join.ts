// join: share what the box plays now, or (with `song`) play the named song.
import type { JoinRequest } from '../../wire/requests.ts';
import { ClientError } from '../../domain/client-error.ts';
import type { Handler, RequestContext } from '../context.ts';
import { mayRequestSongs } from '../permissions.ts';
import { resolveTrack, summarize } from './track-ref.ts';

/** Admits a client whose join was accepted: stream grant plus the song it asked for. */
export async function admit(ctx: RequestContext, req: JoinRequest) {
  const grant = ctx.box.listeners.admit(ctx.caller, req);
  let song: unknown;
  if (req.song) {
    if (!mayRequestSongs(ctx, true)) song = { error: 'song requests are not allowed on this box' };
    else {
      try {
        const track = await resolveTrack(ctx, { query: req.song });
        ctx.box.playback.playNow(track);
        song = summarize(track);
      } catch (e) {
        if (!(e instanceof ClientError)) throw e;
        song = { error: e.message };
      }
    }
  }
  return { ...grant, ...(song !== undefined && { song }), nowPlaying: ctx.box.playback.nowPlaying() };
}

export const join: Handler = async (ctx, body) => {
  const req = body as JoinRequest;
  const verdict = ctx.box.joins.request(ctx.caller, req, ctx.transaction);
  if (verdict.kind === 'reject') throw new ClientError(verdict.reason);
  if (verdict.kind === 'pending') {
    return { status: 'pending', data: { position: verdict.position, message: 'waiting for the owner to approve (press the share button on the box)' } };
  }
  return { status: 'ok', data: await admit(ctx, req) };
};
