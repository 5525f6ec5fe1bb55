// share: the owner opens or closes the share window, or stops sharing altogether
// (what the share button does: a click opens, a long press stops).
import type { ShareRequest } from '../../wire/requests.ts';
import type { Handler } from '../context.ts';

const STOPPED = 'sharing stopped on the box';

export const share: Handler = (ctx, body) => {
  const { action, seconds } = body as unknown as ShareRequest;
  const { shareWindow, joins, listeners } = ctx.box;
  if (action === 'open') shareWindow.open(seconds);
  else shareWindow.close();
  if (action !== 'stop') return { status: 'ok', data: shareWindow.snapshot() };
  const refused = joins.pending.length;
  for (const p of [...joins.pending]) joins.deny(p.clientId, STOPPED);
  const disconnected = listeners.removeAll(STOPPED);
  return { status: 'ok', data: { ...shareWindow.snapshot(), refused, disconnected } };
};
