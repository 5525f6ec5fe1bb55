import type { ControlAction } from '../../wire/requests.ts';
import type { Handler } from '../context.ts';

export const control: Handler = (ctx, body) => {
  ctx.box.playback.control(body.action as ControlAction);
  return { status: 'ok', data: ctx.box.playback.nowPlaying() };
};
