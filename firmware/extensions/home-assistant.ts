// Home Assistant MQTT discovery on the embedded broker, for Home Assistant releases
// that still speak MQTT 3.1.1 (README.md "Home Assistant"; newer ones reach the box
// through the uplink, extensions/uplink.ts). The entities are those of
// home-assistant-discovery.ts, one retained config per component, published again
// whenever Home Assistant announces itself online (`homeassistant/status`).
// Commands arrive on nearcast/<boxId>/ha/<entity>/set (the broker lets only the
// owner publish there) and go through the same request router as MQTT clients.

import type { EmbeddedBroker } from '../broker/embedded-broker.ts';
import type { BoxEvents } from '../domain/box-events.ts';
import { HOME_ASSISTANT } from '../domain/caller.ts';
import type { RequestRouter } from '../requests/router.ts';
import type { BoxTopics } from '../wire/topics.ts';
import type { Extension } from './extension.ts';
import { homeAssistantCommand, perComponentConfigs, type DiscoverySpec } from './home-assistant-discovery.ts';

export { BUTTONS, GESTURES } from './home-assistant-discovery.ts';

export interface HomeAssistantOptions {
  boxId: string;
  name: string;
  version: string;
  topics: BoxTopics;
  sources(): string[];
  /** the programme's playlist names, for the playlist select (none: no select) */
  playlists?(): string[];
  /** the bus: a changed list of sources (a station added), or a programme replaced over MQTT (its playlists), announces the configs again */
  events?: Pick<BoxEvents, 'on' | 'off'>;
  broker: Pick<EmbeddedBroker, 'publish' | 'subscribe'>;
  /** commands are requests like any other, made as Home Assistant (with the owner's rights) */
  router: Pick<RequestRouter, 'ask'>;
  log(level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>): void;
}

export class HomeAssistant implements Extension {
  readonly name = 'home-assistant';
  /** the config topics published last: one no longer there is cleared (an empty retained message removes the entity) */
  private published = new Set<string>();
  private announcedPlaylists = '';
  private readonly onChange = () => {
    if (JSON.stringify(this.options.playlists?.() ?? []) !== this.announcedPlaylists) this.announce();
  };

  constructor(private readonly options: HomeAssistantOptions) {}

  private get prefix(): string {
    return this.options.topics.prefix; // nearcast/<boxId>/
  }

  private spec(): DiscoverySpec {
    const { boxId, name, version, topics } = this.options;
    return {
      boxId,
      name,
      version,
      sources: this.options.sources(),
      playlists: this.options.playlists?.() ?? [],
      triggerMatch: 'payload',
      topics: { state: topics.state, availability: topics.availability, buttonEvent: topics.event('button'), command: (entity) => `${this.prefix}ha/${entity}/set` },
    };
  }

  /** Every discovery config: topic → payload. */
  configs(): Map<string, object> {
    return perComponentConfigs(this.spec());
  }

  async start(): Promise<void> {
    await this.options.broker.subscribe('homeassistant/status', (_t, p) => {
      if (p.toString().trim() === 'online') this.announce();
    });
    await this.options.broker.subscribe(`${this.prefix}ha/+/set`, (topic, p) => this.onCommand(topic.split('/')[3] ?? '', p.toString().trim()));
    this.options.events?.on('sources', this.onSources);
    this.options.events?.on('changed', this.onChange);
    this.announce();
  }

  private readonly onSources = (): void => this.announce();

  /** (Re)publishes every config, retained. */
  announce(): void {
    this.announcedPlaylists = JSON.stringify(this.options.playlists?.() ?? []);
    const configs = this.configs();
    for (const topic of this.published) if (!configs.has(topic)) void this.options.broker.publish(topic, '', { retain: true });
    this.published = new Set(configs.keys());
    for (const [topic, payload] of configs) void this.options.broker.publish(topic, JSON.stringify(payload), { retain: true });
  }

  stop(): void {
    this.options.events?.off('sources', this.onSources);
    this.options.events?.off('changed', this.onChange);
  }

  private onCommand(entity: string, value: string): void {
    const command = homeAssistantCommand(entity, value);
    if ('error' in command) {
      this.options.log('warn', 'Home Assistant command refused', { error: command.error });
      return;
    }
    void this.options.router.ask(HOME_ASSISTANT, command.op, command.body).then((reply) => {
      if (reply.status === 'error') this.options.log('warn', 'Home Assistant command refused', { op: command.op, error: reply.error });
    });
  }
}
