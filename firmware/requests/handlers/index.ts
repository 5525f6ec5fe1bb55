import type { Op } from '../../wire/topics.ts';
import type { Handler } from '../context.ts';
import { approve } from './approve.ts';
import { approvals } from './approvals.ts';
import { control } from './control.ts';
import { deny } from './deny.ts';
import { enqueue } from './enqueue.ts';
import { join } from './join.ts';
import { leave } from './leave.ts';
import { play } from './play.ts';
import { playlist, programme, setProgramme } from './programme.ts';
import { playlog } from './playlog.ts';
import { queue } from './queue.ts';
import { search } from './search.ts';
import { announce } from './announce.ts';
import { share } from './share.ts';
import { servers, stations } from './network.ts';
import { source } from './source.ts';
import { status } from './status.ts';
import { volume } from './volume.ts';

export const HANDLERS: Record<Op, Handler> = {
  join,
  leave,
  status,
  search,
  play,
  enqueue,
  queue,
  control,
  volume,
  source,
  approve,
  deny,
  approvals,
  share,
  announce,
  programme,
  stations,
  servers,
  'set-programme': setProgramme,
  playlist,
  playlog,
};
