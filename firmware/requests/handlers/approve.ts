import { ClientError } from '../../domain/client-error.ts';
import type { Handler } from '../context.ts';

export const approve: Handler = (ctx, body) => {
  const p = ctx.box.joins.approve(body.clientId as string | undefined);
  if (!p) throw new ClientError(body.clientId ? `no pending join from '${body.clientId}'` : 'no join is waiting for approval');
  return { status: 'ok', data: { approved: p.clientId, name: p.request.name ?? p.clientId } };
};
