// The uplink's events waiting for the external broker to acknowledge them
// (README.md "MQTT uplink"). Every event the uplink forwards is put here first,
// with an id, and is on disk (state dir, `uplink-outbox.json`, written atomically
// by StateStore) before it is sent; it leaves only when the broker has acknowledged
// it (QoS 1 PUBACK). So with the uplink down the events wait, and on reconnect they
// go up in order, none lost. An event sent but whose acknowledgement was lost in a
// disconnect is sent again with the same id: a receiver drops ids it has seen, so
// each is counted once. The queue is bounded: beyond `max` the oldest is dropped
// and the drop counted (the uplink logs it).

import { randomBytes } from 'node:crypto';
import { StateStore } from '../util/state-store.ts';

export interface QueuedEvent {
  /** unique across restarts: `<boot time base 36><random>-<sequence>` */
  id: string;
  /** the event's name: it goes up on `event/<name>` */
  name: string;
  /** the payload as published, `id` and `at` included */
  payload: Record<string, unknown>;
}

interface OutboxFile {
  events: QueuedEvent[];
  /** events dropped so far because the queue was full */
  dropped: number;
}

const NAME = /^[a-z_]{1,64}$/;

function validOutbox(value: unknown): OutboxFile | null {
  if (typeof value !== 'object' || value === null) return null;
  const { events, dropped } = value as Record<string, unknown>;
  if (!Array.isArray(events) || typeof dropped !== 'number' || !Number.isInteger(dropped) || dropped < 0) return null;
  for (const event of events) {
    if (typeof event !== 'object' || event === null) return null;
    const { id, name, payload } = event as Record<string, unknown>;
    if (typeof id !== 'string' || id.length > 64 || typeof name !== 'string' || !NAME.test(name)) return null;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  }
  return { events: events as QueuedEvent[], dropped };
}

export interface UplinkOutboxOptions {
  stateDir: string;
  /** the state file's name (default `uplink-outbox`: the events; `uplink-telemetry` keeps telemetry) */
  file?: string;
  /** most events kept; 0 keeps none (events are then sent only while connected) */
  max: number;
  onProblem(message: string): void;
  now?: () => number;
}

export class UplinkOutbox {
  private readonly store: StateStore<OutboxFile>;
  private events: QueuedEvent[] = [];
  private dropped = 0;
  private readonly bootId: string;
  private sequence = 0;
  private readonly now: () => number;

  constructor(private readonly options: UplinkOutboxOptions) {
    this.now = options.now ?? Date.now;
    this.bootId = this.now().toString(36) + randomBytes(4).toString('hex');
    this.store = new StateStore<OutboxFile>(options.stateDir, options.file ?? 'uplink-outbox', validOutbox, options.onProblem);
    const saved = this.store.load({ events: [], dropped: 0 });
    this.events = saved.events.slice(-Math.max(options.max, 0));
    this.dropped = saved.dropped + (saved.events.length - this.events.length);
  }

  get size(): number {
    return this.events.length;
  }

  get droppedCount(): number {
    return this.dropped;
  }

  /** Queues an event (on disk soon after, before it is sent) and returns it as it will go up. */
  add(name: string, payload: object): QueuedEvent {
    const id = `${this.bootId}-${++this.sequence}`;
    const event: QueuedEvent = { id, name, payload: { ...payload, id, at: new Date(this.now()).toISOString() } };
    if (this.options.max === 0) return event;
    this.events.push(event);
    if (this.events.length > this.options.max) {
      this.events.shift();
      this.dropped++;
    }
    this.save();
    return event;
  }

  /** the oldest events not yet acknowledged, up to `count` */
  oldest(count: number): QueuedEvent[] {
    return this.events.slice(0, count);
  }

  /** The broker acknowledged this event: it leaves the queue. */
  acknowledged(id: string): void {
    const at = this.events.findIndex((event) => event.id === id);
    if (at < 0) return;
    this.events.splice(at, 1);
    this.save();
  }

  /** resolves when the queue as it is now is on disk */
  settled(): Promise<void> {
    return this.store.settled();
  }

  /** writes what is pending now, synchronously (shutdown) */
  flush(): void {
    this.store.flush();
  }

  private save(): void {
    this.store.save({ events: this.events, dropped: this.dropped });
  }
}
