import type { Handler, RequestContext } from '../context.ts';

export function statusData(ctx: RequestContext) {
  const b = ctx.box;
  return {
    box: { id: b.boxId, name: b.name },
    ...b.playback.nowPlaying(),
    sources: b.playback.sources(),
    sharing: b.shareWindow.snapshot(),
    ...(b.radio ? { wifi: b.radio() } : {}),
    ...(b.programme ? { programme: b.programme.status() } : {}),
    policy: b.joins.policy,
    listeners: b.listeners.count(),
    pending: b.joins.pending.length,
    you: { role: ctx.role, listening: b.listeners.isListener(ctx.caller) },
  };
}

export const status: Handler = (ctx) => ({ status: 'ok', data: statusData(ctx) });
