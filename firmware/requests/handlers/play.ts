import type { Handler } from '../context.ts';
import { resolveTrack, summarize } from './track-ref.ts';

export const play: Handler = async (ctx, body) => {
  const track = await resolveTrack(ctx, body);
  ctx.box.playback.playNow(track);
  return { status: 'ok', data: { playing: summarize(track) } };
};
