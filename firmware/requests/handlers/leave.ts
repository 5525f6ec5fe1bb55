import type { Handler } from '../context.ts';

export const leave: Handler = (ctx) => {
  ctx.box.joins.withdraw(ctx.clientId);
  const was = ctx.box.listeners.remove(ctx.clientId, 'left');
  return { status: 'ok', data: { left: was } };
};
