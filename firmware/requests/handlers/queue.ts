import type { Handler } from '../context.ts';
import { summarize } from './track-ref.ts';

export const queue: Handler = (ctx) => ({
  status: 'ok',
  data: { nowPlaying: ctx.box.playback.nowPlaying().track, queue: ctx.box.playback.queue().map(summarize) },
});
