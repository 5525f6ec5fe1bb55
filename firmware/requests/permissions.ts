// Which operation needs which right (README.md "MQTT topics": song requests, control, volume and
// the source are each allowed to `owner`, `listeners` or `nobody`).

import type { Op } from '../wire/topics.ts';
import type { PermissionLevel } from '../domain/caller.ts';
import type { RequestContext } from './context.ts';

type Need = 'anyone' | 'owner' | 'request' | 'control' | 'volume' | 'source';

const NEEDS: Record<Op, Need> = {
  join: 'anyone',
  leave: 'anyone',
  status: 'anyone',
  search: 'anyone',
  queue: 'anyone',
  play: 'request',
  enqueue: 'request',
  control: 'control',
  volume: 'volume',
  source: 'source',
  approve: 'owner',
  deny: 'owner',
  approvals: 'owner',
  share: 'owner',
  announce: 'owner',
  programme: 'anyone',
  stations: 'owner',
  servers: 'owner',
  'set-programme': 'owner',
  playlist: 'owner',
  // the log names files and listener counts: the owner's records
  playlog: 'owner',
};

function allows(level: PermissionLevel, ctx: RequestContext): boolean {
  if (level === 'nobody') return false;
  if (ctx.role === 'owner') return true;
  return level === 'listeners' && ctx.box.listeners.isListener(ctx.caller);
}

/** Returns null when allowed, else the reason. */
export function checkPermission(op: Op, ctx: RequestContext): string | null {
  const need = NEEDS[op];
  if (need === 'anyone') return null;
  if (need === 'owner') return ctx.role === 'owner' ? null : `'${op}' is for the box owner: connect with the owner's username and password`;
  const level = ctx.box.permissions[need];
  if (allows(level, ctx)) return null;
  if (level === 'nobody') return `'${op}' is disabled on this box`;
  if (level === 'owner') return `'${op}' is for the box owner on this box`;
  return `'${op}' is for listeners: join first`;
}

/** The same rule for a song named in a join (which is otherwise open to anyone). */
export function mayRequestSongs(ctx: RequestContext, joining: boolean): boolean {
  const level = ctx.box.permissions.request;
  if (level === 'nobody') return false;
  if (ctx.role === 'owner') return true;
  return level === 'listeners' && (joining || ctx.box.listeners.isListener(ctx.caller));
}
