// Home Assistant MQTT discovery: the box appears as a device with a volume
// `number`, a source `select`, `button`s for play/pause and next, and a device
// trigger for every physical button gesture. Configs are retained and published
// again whenever Home Assistant announces itself online (`homeassistant/status`).
// Commands arrive on nearcast/<boxId>/ha/<entity>/set (the broker lets only the
// owner publish there) and go through the same request handlers as MQTT clients.

import type { ButtonName, Gesture } from '../../hardware/buttons/buttons.ts';
import type { EmbeddedBroker } from '../broker/embedded-broker.ts';
import { HOME_ASSISTANT } from '../domain/caller.ts';
import type { RequestRouter } from '../requests/router.ts';
import type { BoxTopics } from '../wire/topics.ts';
import type { Extension } from './extension.ts';

export const BUTTONS: ButtonName[] = ['share', 'playPause', 'next', 'volumeUp', 'volumeDown'];
export const GESTURES: Gesture[] = ['click', 'double', 'long'];
const TRIGGER_TYPE: Record<Gesture, string> = { click: 'button_short_press', double: 'button_double_press', long: 'button_long_press' };

export interface HomeAssistantOptions {
  boxId: string;
  name: string;
  version: string;
  topics: BoxTopics;
  sources(): string[];
  broker: Pick<EmbeddedBroker, 'publish' | 'subscribe'>;
  /** commands are requests like any other, made as Home Assistant (with the owner's rights) */
  router: Pick<RequestRouter, 'ask'>;
  log(level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>): void;
}

export class HomeAssistant implements Extension {
  readonly name = 'home-assistant';

  constructor(private readonly options: HomeAssistantOptions) {}

  private get prefix(): string {
    return this.options.topics.prefix; // nearcast/<boxId>/
  }

  private commandTopic(entity: string): string {
    return `${this.prefix}ha/${entity}/set`;
  }

  /** Every discovery config: topic → payload. */
  configs(): Map<string, object> {
    const id = this.options.boxId;
    const device = { identifiers: [`nearcast_${id}`], name: this.options.name, manufacturer: 'nearcast', model: 'nearcast speaker box', sw_version: this.options.version };
    const availability = { topic: `${this.prefix}availability`, value_template: '{{ value_json.state }}', payload_available: 'online', payload_not_available: 'offline' };
    const entity = (key: string, name: string) => ({ name, unique_id: `nearcast_${id}_${key}`, object_id: `nearcast_${id}_${key}`, device, availability: [availability] });
    const state = `${this.prefix}state`;
    const out = new Map<string, object>();
    out.set(`homeassistant/number/${id}/volume/config`, {
      ...entity('volume', 'Volume'), state_topic: state, value_template: '{{ value_json.volume }}', command_topic: this.commandTopic('volume'),
      min: 0, max: 100, step: 1, mode: 'slider', unit_of_measurement: '%', icon: 'mdi:volume-high',
    });
    out.set(`homeassistant/select/${id}/source/config`, {
      ...entity('source', 'Source'), state_topic: state, value_template: '{{ value_json.source }}', command_topic: this.commandTopic('source'),
      options: this.options.sources(), icon: 'mdi:import',
    });
    out.set(`homeassistant/button/${id}/play_pause/config`, { ...entity('play_pause', 'Play/pause'), command_topic: this.commandTopic('play_pause'), icon: 'mdi:play-pause' });
    out.set(`homeassistant/button/${id}/next/config`, { ...entity('next', 'Next'), command_topic: this.commandTopic('next'), icon: 'mdi:skip-next' });
    for (const button of BUTTONS) {
      for (const gesture of GESTURES) {
        out.set(`homeassistant/device_automation/${id}/${button}_${gesture}/config`, {
          automation_type: 'trigger', topic: `${this.prefix}event/button`, type: TRIGGER_TYPE[gesture], subtype: button,
          payload: JSON.stringify({ button, gesture }), device,
        });
      }
    }
    return out;
  }

  async start(): Promise<void> {
    await this.options.broker.subscribe('homeassistant/status', (_t, p) => {
      if (p.toString().trim() === 'online') this.announce();
    });
    await this.options.broker.subscribe(`${this.prefix}ha/+/set`, (topic, p) => this.onCommand(topic.split('/')[3] ?? '', p.toString().trim()));
    this.announce();
  }

  /** (Re)publishes every config, retained. */
  announce(): void {
    for (const [topic, payload] of this.configs()) void this.options.broker.publish(topic, JSON.stringify(payload), { retain: true });
  }

  stop(): void {}

  private onCommand(entity: string, value: string): void {
    switch (entity) {
      case 'volume': {
        const v = Number(value);
        if (value === '' || !Number.isFinite(v)) this.options.log('warn', 'Home Assistant volume command is not a number', { value: value.slice(0, 40) });
        else this.command('volume', { volume: Math.round(Math.max(0, Math.min(100, v))) });
        break;
      }
      case 'source': this.command('source', { source: value }); break;
      case 'play_pause': this.command('control', { action: 'toggle' }); break;
      case 'next': this.command('control', { action: 'next' }); break;
      default: this.options.log('warn', 'unknown Home Assistant command topic', { entity: entity.slice(0, 40) });
    }
  }

  private command(op: 'volume' | 'source' | 'control', body: Record<string, unknown>): void {
    void this.options.router.ask(HOME_ASSISTANT, op, body).then((reply) => {
      if (reply.status === 'error') this.options.log('warn', 'Home Assistant command refused', { op, error: reply.error });
    });
  }
}
