// announce: the owner (or Home Assistant) has the box say something — a file, or
// text spoken by espeak-ng — over the music, after a chime, with the music ducked.
import { ClientError } from '../../domain/client-error.ts';
import type { AnnounceRequest } from '../../wire/requests.ts';
import type { Handler } from '../context.ts';

export const announce: Handler = async (ctx, body) => {
  const announcements = ctx.box.announcements;
  if (!announcements) throw new ClientError('this box does not make announcements');
  return { status: 'ok', data: await announcements.announce(body as AnnounceRequest) };
};
