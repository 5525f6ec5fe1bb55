// Keeps the retained `state`, `listeners` and `availability` topics current:
// `state` and `listeners` are republished on every change the bus reports
// (coalesced) and every few seconds so positionMs stays fresh; `availability`
// says online from start to stop (README.md "MQTT topics"). What it publishes is
// also told as `published` events (the uplink forwards them; it never polls).

import { EventEmitter } from 'node:events';
import type { EmbeddedBroker } from '../broker/embedded-broker.ts';
import type { BoxEvents } from '../domain/box-events.ts';
import type { BoxTopics } from '../wire/topics.ts';
import type { Extension } from './extension.ts';

export interface StatePublisherOptions {
  broker: Pick<EmbeddedBroker, 'publish'>;
  topics: Pick<BoxTopics, 'state' | 'listeners' | 'availability'>;
  events: BoxEvents;
  /** the public state, as anyone may see it */
  state(): object;
  listeners(): unknown[];
  periodMs?: number;
}

export type PublishedTopic = 'state' | 'listeners';

export class StatePublisher extends EventEmitter<{ published: [PublishedTopic, string] }> implements Extension {
  readonly name = 'state-publisher';
  private timer: NodeJS.Timeout | null = null;
  private pending: NodeJS.Timeout | null = null;
  private lastListeners = '';
  private lastState = '';
  private readonly onChange = () => this.changed();

  constructor(private readonly options: StatePublisherOptions) {
    super();
  }

  /** the payloads published last (empty strings before the first) */
  latest(): Record<PublishedTopic, string> {
    return { state: this.lastState, listeners: this.lastListeners };
  }

  async start(): Promise<void> {
    await this.options.broker.publish(this.options.topics.availability, JSON.stringify({ state: 'online' }), { retain: true });
    this.options.events.on('changed', this.onChange);
    this.publishNow();
    this.timer = setInterval(() => this.publishNow(), this.options.periodMs ?? 5000);
    this.timer.unref();
  }

  /** Something changed: publish soon (bursts of changes give one message). */
  changed(): void {
    if (this.pending || !this.timer) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      this.publishNow();
    }, 50);
    this.pending.unref();
  }

  publishNow(): void {
    const state = JSON.stringify(this.options.state());
    this.lastState = state;
    void this.options.broker.publish(this.options.topics.state, state, { retain: true });
    this.emit('published', 'state', state);
    const listeners = JSON.stringify(this.options.listeners());
    if (listeners !== this.lastListeners) {
      this.lastListeners = listeners;
      void this.options.broker.publish(this.options.topics.listeners, listeners, { retain: true });
      this.emit('published', 'listeners', listeners);
    }
  }

  async stop(): Promise<void> {
    this.options.events.off('changed', this.onChange);
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearTimeout(this.pending);
    this.timer = this.pending = null;
    await this.options.broker.publish(this.options.topics.availability, JSON.stringify({ state: 'offline' }), { retain: true });
  }
}
