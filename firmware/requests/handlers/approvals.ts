// approvals: the listeners remembered as approved under policy `button` (the owner lists
// them, or forgets one by its id, or all), README.md "Security and limits".
import { ClientError } from '../../domain/client-error.ts';
import type { Handler } from '../context.ts';

export const approvals: Handler = (ctx, body) => {
  const remembered = ctx.box.remembered;
  if (!remembered) throw new ClientError('this box remembers no listeners');
  const id = body.id as string | undefined;
  if (body.action === 'list') return { status: 'ok', data: { listeners: remembered.list() } };
  const forgotten = remembered.forget(id);
  if (id !== undefined && forgotten === 0) throw new ClientError(`no remembered listener '${id}' (see action 'list')`);
  return { status: 'ok', data: { forgotten, listeners: remembered.list() } };
};
