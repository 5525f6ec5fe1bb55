import type { Handler } from '../context.ts';

export const volume: Handler = (ctx, body) => {
  const current = ctx.box.playback.nowPlaying().volume;
  const target = typeof body.volume === 'number' ? body.volume : current + (body.delta as number);
  return { status: 'ok', data: { volume: ctx.box.playback.setVolume(Math.max(0, Math.min(100, target))) } };
};
