// The box's uplink code driven in process, without the rest of a box: a real
// Uplink, a real event bus and state publisher, and a request router that records
// what reached it and answers ok (what reaches the router, and from where, is what
// the uplink tests check; the handlers behind it are tested elsewhere).

import path from 'node:path';
import { loadConfig } from '../../firmware/config/config.ts';
import { BoxEvents } from '../../firmware/domain/box-events.ts';
import type { Caller } from '../../firmware/domain/caller.ts';
import { StatePublisher } from '../../firmware/extensions/state-publisher.ts';
import { Uplink } from '../../firmware/extensions/uplink.ts';
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

export function inProcessBox(boxId: string, stateDir: string, config: Partial<UplinkConfig>, state: object = { volume: 41 }): InProcessBox {
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
      let transaction: string | number | undefined;
      try {
        transaction = (JSON.parse(text) as { transaction?: string | number }).transaction;
      } catch {
        /* none */
      }
      return { status: 'ok', data: { op, box: boxId }, ...(transaction !== undefined ? { transaction } : {}) };
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
    log: (level, msg, extra) => logs.push({ level, msg, ...(extra ? { extra } : {}) }),
  });
  return { uplink, events, state: statePublisher, asked, logs };
}
