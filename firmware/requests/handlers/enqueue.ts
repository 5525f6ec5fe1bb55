import type { Handler } from '../context.ts';
import { resolveTrack, summarize } from './track-ref.ts';

export const enqueue: Handler = async (ctx, body) => {
  const track = await resolveTrack(ctx, body);
  const position = ctx.box.playback.enqueue(track);
  return { status: 'ok', data: { queued: summarize(track), position } };
};
