// programme: what the kiosk plays now and next, with planned start times (anyone may ask).
// set-programme: the owner replaces the programme (checked, kept on disk, applied live).
// playlist: the owner has songs come from one playlist now (Home Assistant's select).
import { ClientError } from '../../domain/client-error.ts';
import type { PlaylistRequest, SetProgrammeRequest } from '../../wire/requests.ts';
import type { Handler, RequestContext } from '../context.ts';

function runner(ctx: RequestContext) {
  const programme = ctx.box.programme;
  if (!programme) throw new ClientError('this box has no programme support');
  return programme;
}

export const programme: Handler = (ctx, body) => {
  const programme = runner(ctx);
  if (!programme.active()) throw new ClientError('this box runs no programme (configuration section `programme`, or `set-programme`)');
  const count = typeof body.count === 'number' ? body.count : 10;
  return { status: 'ok', data: { ...programme.status(), upcoming: programme.upcoming(count) } };
};

export const setProgramme: Handler = (ctx, body) => ({ status: 'ok', data: runner(ctx).set((body as unknown as SetProgrammeRequest).programme) });

export const playlist: Handler = (ctx, body) => ({ status: 'ok', data: runner(ctx).choose((body as unknown as PlaylistRequest).playlist) });
