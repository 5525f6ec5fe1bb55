import { ClientError } from '../../domain/client-error.ts';
import type { Handler } from '../context.ts';

export const deny: Handler = (ctx, body) => {
  const p = ctx.box.joins.deny(body.clientId as string | undefined, body.reason as string | undefined);
  if (!p) throw new ClientError(body.clientId ? `no pending join from '${body.clientId}'` : 'no join is waiting for approval');
  return { status: 'ok', data: { denied: p.clientId } };
};
