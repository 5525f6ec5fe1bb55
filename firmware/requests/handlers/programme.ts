// programme: what the kiosk plays now and next, with planned start times (anyone may ask).
import { ClientError } from '../../domain/client-error.ts';
import type { Handler } from '../context.ts';

export const programme: Handler = (ctx, body) => {
  const runner = ctx.box.programme;
  if (!runner) throw new ClientError('this box runs no programme (configuration section `programme`)');
  const count = typeof body.count === 'number' ? body.count : 10;
  return { status: 'ok', data: { ...runner.status(), upcoming: runner.upcoming(count) } };
};
