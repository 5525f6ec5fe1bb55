// Home Assistant's view of the box, built once and published to whichever broker
// Home Assistant reads (README.md "Home Assistant"): the embedded broker, one
// retained config per component (what releases before device-based discovery
// understand), or an uplink broker, one device config with every component in
// `cmps`. Home Assistant has no MQTT media player, so the box appears as the
// entities a user expects from one: now-playing sensors, listeners, a volume
// number, a source select, transport buttons, a share-window switch, and a device
// trigger per physical button gesture, and on a kiosk a playlist select. Commands come back on
// `<box topics>/ha/<entity>/set` and become the owner's requests (see
// `homeAssistantCommand`).

import type { ButtonName, Gesture } from '../../hardware/buttons/buttons.ts';
import type { Op } from '../wire/topics.ts';

export const BUTTONS: ButtonName[] = ['share', 'playPause', 'next', 'volumeUp', 'volumeDown'];
export const GESTURES: Gesture[] = ['click', 'double', 'long'];
const TRIGGER_TYPE: Record<Gesture, string> = { click: 'button_short_press', double: 'button_double_press', long: 'button_long_press' };

/** where the box's topics are on the broker discovery goes to */
export interface DiscoveryTopics {
  state: string;
  availability: string;
  /** the topic of `event/button` */
  buttonEvent: string;
  command(entity: string): string;
  /** where the now-playing cover goes as image bytes (the uplink publishes it); absent: no cover entity */
  cover?: string;
}

export interface DiscoverySpec {
  boxId: string;
  name: string;
  version: string;
  sources: string[];
  /** the programme's playlist names (none: no playlist select) */
  playlists?: string[];
  topics: DiscoveryTopics;
  /**
   * How a device trigger recognises its gesture in `event/button`: `payload` matches the
   * message exactly (the embedded broker's events are exactly `{"button","gesture"}`);
   * `template` extracts `<button>_<gesture>` first (the uplink adds `id` and `at` to events).
   */
  triggerMatch: 'payload' | 'template';
}

/** One Home Assistant component: its platform, its key on the device, its options. */
export interface DiscoveryComponent {
  platform: 'sensor' | 'number' | 'select' | 'button' | 'switch' | 'text' | 'image' | 'device_automation';
  key: string;
  config: Record<string, unknown>;
}

const NOW_PLAYING = ['title', 'artist', 'album'] as const;
/** Home Assistant's text entities hold at most 255 characters (the `announce` request takes 500) */
const ANNOUNCE_MAX = 255;

export function discoveryComponents(spec: DiscoverySpec): DiscoveryComponent[] {
  const { boxId: id, topics } = spec;
  // no object_id (Home Assistant 2026.4 stopped reading it) and no default_entity_id (releases before 2025.10 do not
  // know it): the entity id then comes from the device and entity names, which every release does
  const entity = (key: string, name: string) => ({ name, unique_id: `nearcast_${id}_${key}` });
  const state = topics.state;
  const out: DiscoveryComponent[] = [];
  for (const field of NOW_PLAYING) {
    out.push({
      platform: 'sensor',
      key: field,
      config: {
        ...entity(field, `Now playing ${field}`),
        state_topic: state,
        // a box that plays a live source or nothing has no track
        value_template: `{{ value_json.track.${field} if value_json.track else '' }}`,
        icon: 'mdi:music-note',
      },
    });
  }
  if (topics.cover) {
    // the picture's bytes themselves (image_topic), not a URL: a Home Assistant on another network than
    // the box (a shop's central broker) cannot reach the box's web port. Declared JPEG, which most
    // embedded covers are; browsers sniff the others (PNG) when they show it.
    out.push({ platform: 'image', key: 'cover', config: { ...entity('cover', 'Cover'), image_topic: topics.cover, content_type: 'image/jpeg', icon: 'mdi:album' } });
  }
  out.push({
    platform: 'sensor',
    key: 'listeners',
    config: {
      ...entity('listeners', 'Listeners'),
      state_topic: state,
      value_template: '{{ value_json.listeners }}',
      state_class: 'measurement',
      icon: 'mdi:account-multiple',
    },
  });
  out.push({
    platform: 'number',
    key: 'volume',
    config: {
      ...entity('volume', 'Volume'),
      state_topic: state,
      value_template: '{{ value_json.volume }}',
      command_topic: topics.command('volume'),
      min: 0,
      max: 100,
      step: 1,
      mode: 'slider',
      unit_of_measurement: '%',
      icon: 'mdi:volume-high',
    },
  });
  out.push({
    platform: 'select',
    key: 'source',
    config: {
      ...entity('source', 'Source'),
      state_topic: state,
      value_template: '{{ value_json.source }}',
      command_topic: topics.command('source'),
      options: spec.sources,
      icon: 'mdi:import',
    },
  });
  if (spec.playlists?.length) out.push(playlistSelect(spec.playlists, entity('playlist', 'Playlist'), state, topics.command('playlist')));
  const buttons: Array<[string, string, string]> = [
    ['play_pause', 'Play/pause', 'mdi:play-pause'],
    ['next', 'Next', 'mdi:skip-next'],
    ['previous', 'Previous', 'mdi:skip-previous'],
  ];
  for (const [key, name, icon] of buttons) out.push({ platform: 'button', key, config: { ...entity(key, name), command_topic: topics.command(key), icon } });
  out.push({
    platform: 'switch',
    key: 'share',
    config: {
      ...entity('share', 'Share window'),
      state_topic: state,
      value_template: "{{ 'ON' if value_json.sharing.open else 'OFF' }}",
      command_topic: topics.command('share'),
      payload_on: 'ON',
      payload_off: 'OFF',
      icon: 'mdi:account-multiple-plus',
    },
  });
  // what is typed here is spoken over the music (the owner's `announce` request)
  out.push({
    platform: 'text',
    key: 'announce',
    config: {
      ...entity('announce', 'Announce'),
      command_topic: topics.command('announce'),
      min: 1,
      max: ANNOUNCE_MAX,
      mode: 'text',
      icon: 'mdi:bullhorn',
    },
  });
  for (const button of BUTTONS) {
    for (const gesture of GESTURES) {
      const match =
        spec.triggerMatch === 'payload'
          ? { payload: JSON.stringify({ button, gesture }) }
          : { value_template: '{{ value_json.button }}_{{ value_json.gesture }}', payload: `${button}_${gesture}` };
      out.push({
        platform: 'device_automation',
        key: `${button}_${gesture}`,
        config: {
          automation_type: 'trigger',
          topic: topics.buttonEvent,
          type: TRIGGER_TYPE[gesture],
          subtype: button,
          ...match,
        },
      });
    }
  }
  return out;
}

/** the kiosk's playlists: choosing one plays its songs now, until the playlists on the air change (the `playlist` request) */
function playlistSelect(names: string[], entity: object, state: string, command: string): DiscoveryComponent {
  return {
    platform: 'select',
    key: 'playlist',
    config: {
      ...entity,
      state_topic: state,
      value_template: "{{ value_json.programme.playing.playlistName if value_json.programme and value_json.programme.playing.playlistName else '' }}",
      command_topic: command,
      options: names,
      icon: 'mdi:playlist-music',
    },
  };
}

function device(spec: DiscoverySpec) {
  return { identifiers: [`nearcast_${spec.boxId}`], name: spec.name, manufacturer: 'nearcast', model: 'nearcast speaker box', sw_version: spec.version };
}

function availability(spec: DiscoverySpec) {
  return { topic: spec.topics.availability, value_template: '{{ value_json.state }}', payload_available: 'online', payload_not_available: 'offline' };
}

/** One retained config per component, `homeassistant/<platform>/<boxId>/<key>/config`, each naming the device. */
export function perComponentConfigs(spec: DiscoverySpec, discoveryPrefix = 'homeassistant'): Map<string, object> {
  const out = new Map<string, object>();
  for (const { platform, key, config } of discoveryComponents(spec)) {
    const entityOnly = platform === 'device_automation' ? {} : { availability: [availability(spec)] };
    out.set(`${discoveryPrefix}/${platform}/${spec.boxId}/${key}/config`, { ...config, ...entityOnly, device: device(spec) });
  }
  return out;
}

/** The device-based config, `homeassistant/device/<boxId>/config`: device, origin, shared availability, every component. */
export function deviceConfig(spec: DiscoverySpec, discoveryPrefix = 'homeassistant'): { topic: string; payload: object } {
  const cmps: Record<string, object> = {};
  for (const { platform, key, config } of discoveryComponents(spec)) cmps[key] = { p: platform, ...config };
  return {
    topic: `${discoveryPrefix}/device/${spec.boxId}/config`,
    payload: {
      dev: device(spec),
      o: { name: 'nearcast', sw: spec.version },
      availability: [availability(spec)],
      cmps,
    },
  };
}

/** What a command on `ha/<entity>/set` asks of the box, or why it cannot be done. */
export type HomeAssistantCommand = { op: Op; body: Record<string, unknown> } | { error: string };

export function homeAssistantCommand(entity: string, value: string): HomeAssistantCommand {
  switch (entity) {
    case 'volume': {
      const volume = Number(value);
      if (value === '' || !Number.isFinite(volume)) return { error: `volume command '${value.slice(0, 40)}' is not a number` };
      return { op: 'volume', body: { volume: Math.round(Math.max(0, Math.min(100, volume))) } };
    }
    case 'source':
      return { op: 'source', body: { source: value } };
    case 'play_pause':
      return { op: 'control', body: { action: 'toggle' } };
    case 'next':
      return { op: 'control', body: { action: 'next' } };
    case 'previous':
      return { op: 'control', body: { action: 'previous' } };
    case 'share':
      if (value === 'ON') return { op: 'share', body: { action: 'open' } };
      if (value === 'OFF') return { op: 'share', body: { action: 'close' } };
      return { error: `share command '${value.slice(0, 40)}' must be ON or OFF` };
    case 'playlist':
      if (value === '') return { error: 'playlist command is empty: name a playlist of the programme' };
      return { op: 'playlist', body: { playlist: value.slice(0, 128) } };
    case 'announce':
      if (value === '') return { error: 'announce command is empty: type what the box should say' };
      return { op: 'announce', body: { text: value.slice(0, ANNOUNCE_MAX) } };
    default:
      return { error: `unknown Home Assistant command topic 'ha/${entity.slice(0, 40)}/set'` };
  }
}
