import type { PlayedAs } from '../../domain/playback-control.ts';
import type { BoxServices, Handler, RequestContext } from '../context.ts';

/** the programme as the state shows it: on the air, chosen, and what plays now from which playlist (its id and name) */
function programmeState(programme: NonNullable<BoxServices['programme']>, playing: PlayedAs) {
  return { ...programme.status(), playing: { ...playing, playlistName: programme.playlistName(playing.playlist) } };
}

export function statusData(ctx: RequestContext) {
  const b = ctx.box;
  return {
    box: { id: b.boxId, name: b.name },
    ...b.playback.nowPlaying(),
    sources: b.playback.sources(),
    sharing: b.shareWindow.snapshot(),
    ...(b.radio ? { wifi: b.radio() } : {}),
    ...(b.programme?.active() ? { programme: programmeState(b.programme, b.playback.playingAs()) } : {}),
    policy: b.joins.policy,
    listeners: b.listeners.count(),
    pending: b.joins.pending.length,
    you: { role: ctx.role, listening: b.listeners.isListener(ctx.caller) },
  };
}

export const status: Handler = (ctx) => ({ status: 'ok', data: statusData(ctx) });
