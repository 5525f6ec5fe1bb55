import type { Handler } from '../context.ts';

export const leave: Handler = (ctx) => {
  ctx.box.joins.withdraw(ctx.caller);
  const was = ctx.box.listeners.leave(ctx.caller, 'left');
  return { status: 'ok', data: { left: was } };
};
