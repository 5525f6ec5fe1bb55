// The box's uplink code driven in process, without the rest of a box: a real
// Uplink, a real event bus and state publisher, and a request router that records
// what reached it and answers ok, echoing the request (what reaches the router, and
// from where, is what the uplink tests check; the handlers are tested elsewhere).

import path from 'node:path';
import { loadConfig } from '../../firmware/config/config.ts';
import { BoxEvents } from '../../firmware/domain/box-events.ts';
import type { Caller } from '../../firmware/domain/caller.ts';
import { StatePublisher } from '../../firmware/extensions/state-publisher.ts';
import { Uplink, type UplinkOptions } from '../../firmware/extensions/uplink.ts';
import type { UplinkConfig } from '../../firmware/extensions/uplink-connection.ts';
import type { Reply } from '../../firmware/wire/requests.ts';

export interface InProcessBox {
  uplink: Uplink;
  events: BoxEvents;
  state: StatePublisher;
  /** requests that reached the router */
  asked: Array<{ caller: Caller; op: string; payload: string }>;
  logs: Array<{ level: string; msg: string; extra?: Record<string, unknown> }>;
}

/** more of the box, for the tests that need it: a telemetry publisher (an emitter of `published`) and the cover lookup */
export type InProcessExtras = Pick<UplinkOptions, 'telemetry' | 'cover'>;

export function inProcessBox(boxId: string, stateDir: string, config: Partial<UplinkConfig>, state: object = { volume: 41 }, extras: InProcessExtras = {}): InProcessBox {
  const events = new BoxEvents();
  const asked: InProcessBox['asked'] = [];
  const logs: InProcessBox['logs'] = [];
  const statePublisher = new StatePublisher({
    broker: { publish: async () => {} },
    topics: { state: 's', listeners: 'l', availability: 'a' },
    events,
    state: () => ({ box: { id: boxId }, ...state }),
    listeners: () => [],
  });
  statePublisher.publishNow();
  const router = {
    handle: async (caller: Caller, op: string, payload: Uint8Array): Promise<Reply> => {
      asked.push({ caller, op, payload: Buffer.from(payload).toString() });
      const text = Buffer.from(payload).toString();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        /* no body */
      }
      const { transaction, ...fields } = body;
      // the reply names the op and box, and echoes what was asked (a volume reply says the volume)
      return { status: 'ok', data: { op, box: boxId, ...fields }, ...(typeof transaction === 'string' || typeof transaction === 'number' ? { transaction } : {}) };
    },
    ask: async (): Promise<Reply> => ({ status: 'ok' }),
  };
  const uplink = new Uplink({
    config: { ...loadConfig({ env: {} }).mqtt.uplink, reconnectMinSeconds: 0.1, reconnectMaxSeconds: 0.5, ...config },
    boxId,
    name: boxId,
    version: '0.0.0',
    stateDir: path.join(stateDir, boxId),
    events,
    statePublisher,
    router,
    sources: () => ['library'],
    ...extras,
    log: (level, msg, extra) => logs.push({ level, msg, ...(extra ? { extra } : {}) }),
  });
  return { uplink, events, state: statePublisher, asked, logs };
}
