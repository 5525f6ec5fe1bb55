// The bus's events on MQTT: nearcast/<boxId>/event/<name>, not retained
// (README.md "MQTT topics"). A button event carries the press only: Home Assistant's
// device triggers match its payload exactly.

import type { EventEmitter } from 'node:events';
import type { EmbeddedBroker } from '../broker/embedded-broker.ts';
import { PUBLISHED_EVENTS, type BoxEventMap, type BoxEvents } from '../domain/box-events.ts';
import type { BoxTopics } from '../wire/topics.ts';
import type { Extension } from './extension.ts';

export type PublishedName = (typeof PUBLISHED_EVENTS)[number];
const PAYLOAD: { [N in PublishedName]?: (...args: BoxEventMap[N]) => object } = {
  button: (e) => ({ button: e.button, gesture: e.gesture }),
};

/** The payload of `event/<name>` for a bus event (the uplink forwards the same objects). */
export function publishedEventPayload<N extends PublishedName>(name: N, ...args: BoxEventMap[N]): object {
  const shape = (PAYLOAD[name] ?? ((payload: object) => payload)) as (...payload: BoxEventMap[N]) => object;
  return shape(...args);
}

export class EventPublisher implements Extension {
  readonly name = 'event-publisher';
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly events: BoxEvents,
    private readonly broker: EmbeddedBroker,
    private readonly topics: BoxTopics,
  ) {}

  start(): void {
    // every published event has one payload object; the bus as a plain emitter lets one loop serve them all
    const bus: EventEmitter = this.events;
    for (const name of PUBLISHED_EVENTS) {
      const shape = publishedEventPayload as (name: PublishedName, payload: object) => object;
      const listener = (payload: object) => void this.broker.publish(this.topics.event(name), JSON.stringify(shape(name, payload)), { retain: false });
      bus.on(name, listener);
      this.unsubscribe.push(() => bus.off(name, listener));
    }
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }
}
