import { ClientError } from '../../domain/client-error.ts';
import type { Handler } from '../context.ts';

/** Switches what the box plays (library, pipe, capture); listeners stay connected. */
export const source: Handler = (ctx, body) => {
  const playback = ctx.box.playback;
  try {
    return { status: 'ok', data: { source: playback.selectSource(body.source as string), sources: playback.sources() } };
  } catch (e) {
    if (e instanceof RangeError) throw new ClientError(e.message);
    throw e;
  }
};
