// playlog: one page of the box's play log for a range of days (the owner's; a fleet
// collects every box's with `nearcast fleet playlog`). Pages are bounded
// (extensions/play-log-export.ts); the reply's `next` asks for the following one.
import { ClientError } from '../../domain/client-error.ts';
import type { Handler } from '../context.ts';

export const playlog: Handler = (ctx, body) => {
  const log = ctx.box.playLog;
  if (!log) throw new ClientError('this box keeps no play log (configuration playLog.enabled is false)');
  try {
    return { status: 'ok', data: log.page(body.from as string, body.to as string, body.cursor as string | undefined) };
  } catch (e) {
    if (e instanceof RangeError) throw new ClientError(e.message);
    throw e;
  }
};
