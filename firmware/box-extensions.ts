// The extensions the box runs, built with what each needs and listed in the order
// they start (the controller starts them one by one and stops them in reverse):
// each listens on the event bus and acts through the request router.

import fs from 'node:fs';
import path from 'node:path';
import { openSink } from '../hardware/audio/open-sink.ts';
import { SystemTelemetry } from '../hardware/telemetry/system-telemetry.ts';
import { opusImplementation } from './audio/codecs/opus-backend.ts';
import type { AudioEngine } from './audio/engine.ts';
import type { EmbeddedBroker } from './broker/embedded-broker.ts';
import type { BoxConfig } from './config/config.ts';
import type { BoxEvents } from './domain/box-events.ts';
import { NOBODY } from './domain/caller.ts';
import type { JoinManager } from './domain/join-manager.ts';
import type { Listeners } from './domain/listener-directory.ts';
import type { Playback } from './domain/playback.ts';
import type { ProgrammeRunner } from './domain/programme/programme-runner.ts';
import type { ShareWindow } from './domain/share-window.ts';
import { BoxConsole } from './extensions/box-console.ts';
import { EventPublisher } from './extensions/event-publisher.ts';
import { frontPanel } from './extensions/front-panel.ts';
import type { Extension } from './extensions/extension.ts';
import { HomeAssistant } from './extensions/home-assistant.ts';
import { MdnsAdvertiser } from './extensions/mdns.ts';
import { MqttRequests } from './extensions/mqtt-requests.ts';
import { PlayLog } from './extensions/play-log.ts';
import { Speaker } from './extensions/speaker.ts';
import { StatePublisher } from './extensions/state-publisher.ts';
import { Telemetry } from './extensions/telemetry.ts';
import { Uplink } from './extensions/uplink.ts';
import { Wifi } from './extensions/wifi.ts';
import type { MusicLibrary } from './library/music-library.ts';
import type { LibraryIndex } from './library/search.ts';
import type { BoxServices } from './requests/context.ts';
import { statusData } from './requests/handlers/status.ts';
import type { RequestRouter } from './requests/router.ts';
import type { Refusals } from './security/refusals.ts';
import { DailyLog } from './util/daily-log.ts';
import type { Logger } from './util/log.ts';
import { packageVersion } from './util/package-version.ts';
import { trackCovers } from './web/cover-art.ts';
import { DEFAULT_FORMAT, type CodecName } from './wire/format.ts';
import type { BoxTopics } from './wire/topics.ts';

export interface BoxExtensionsOptions {
  config: BoxConfig;
  topics: BoxTopics;
  events: BoxEvents;
  refusals: Refusals;
  log: Logger;
  clock: () => number;
  broker: EmbeddedBroker;
  engine: AudioEngine;
  playback: Playback;
  /** the box's files (their cover art) */
  library: LibraryIndex;
  /** the box's files and its music servers */
  music: MusicLibrary;
  listeners: Listeners;
  joins: JoinManager;
  shareWindow: ShareWindow;
  router: RequestRouter;
  /** what the state topic shows; the Wi-Fi radio's state is added to it when the box runs one */
  services: BoxServices;
  programme: Pick<ProgrammeRunner, 'playlists'>;
  /** the codecs the stream offers */
  codecs: CodecName[];
  /** the box volume the speaker starts at (the saved one) */
  volume: number;
  /** the ports the box listens on, all open by now */
  ports: { mqtt: number; http: number; stream: number };
  /** why the library is empty, when it is */
  noMusic: string | null;
  /** registers what a part needs done when the box stops */
  onStop(name: string, stop: () => Promise<void> | void): void;
}

/** The extensions in their start order (null: one the configuration leaves out), and the simulated box's console, which welcomes the user once the box is ready. */
export async function boxExtensions(o: BoxExtensionsOptions): Promise<{ extensions: Array<Extension | null>; console: BoxConsole | null }> {
  const { config, topics, events, refusals, log, broker, engine, playback, library, music, listeners, joins, shareWindow, router, services, programme, codecs, ports } = o;
  const wifi = new Wifi({
    config: { ...config, simulated: config.hardware.sim },
    broker,
    ownerTopic: topics.prefix + 'owner/wifi',
    events,
    log: (l, m, e) => log.log(l, m, e),
  });
  if (wifi.mode !== 'none') services.radio = () => wifi.publicState();

  const console = config.hardware.sim ? new BoxConsole({ events, shareRemainingMs: () => shareWindow.remainingMs, listenerCount: () => listeners.count() }) : null;
  const statePublisher = new StatePublisher({
    broker,
    topics,
    events,
    listeners: () => listeners.list(),
    state: () => {
      const { you: _you, ...state } = statusData({ clientId: '', role: 'guest', caller: NOBODY, box: services });
      return state;
    },
  });
  const speaker = boxSpeaker(o);
  const telemetry = new Telemetry({
    intervalSeconds: config.telemetry.intervalSeconds,
    system: new SystemTelemetry(),
    stream: () => ({
      listeners: listeners.count(),
      chunks: engine.stats.chunks,
      sourceUnderruns: engine.stats.sourceUnderruns,
      stalls: engine.stats.stalls,
      encoding: engine.encoding,
      opus: codecs.includes('opus') ? opusImplementation().kind : null,
    }),
    refused: () => refusals.snapshot(),
    speaker: () => speaker?.figures() ?? null,
    publish: (payload) => void broker.publish(topics.telemetry, payload, { retain: false }),
    log: (l, m, e) => log.log(l, m, e),
  });
  const extensions: Array<Extension | null> = [
    new EventPublisher(events, broker, topics),
    new MqttRequests({ broker, topics, router, services, joins, listeners }),
    config.homeassistant.enabled
      ? new HomeAssistant({
          boxId: config.boxId,
          name: config.name,
          version: packageVersion(),
          topics,
          sources: () => playback.sources(),
          playlists: () => programme.playlists().map((p) => p.name),
          events,
          broker,
          router,
          log: (l, m, e) => log.log(l, m, e),
        })
      : null,
    statePublisher,
    console,
    telemetry,
    config.playLog.enabled
      ? new PlayLog({
          events,
          log: new DailyLog({ dir: path.join(config.stateDir, 'playlog'), keepDays: config.playLog.keepDays }),
          track: (id) => playback.track(id),
          playing: () => engine.state === 'playing',
          listenerCount: () => listeners.count(),
          onError: (message) => {
            log.warn(message);
            events.emit('error', { message });
          },
        })
      : null,
    speaker,
    ...(await frontPanel({
      hardware: config.hardware,
      broker,
      simButtonTopic: topics.prefix + 'sim/button',
      router,
      events,
      log,
      playing: () => engine.state === 'playing',
      shareWindow,
      joins,
      noMusic: o.noMusic,
      onStop: (name, stop) => o.onStop(name, stop),
    })),
    wifi,
    // the uplink to an external broker (README.md "MQTT uplink"): after the publishers it forwards
    config.mqtt.uplink.url !== null
      ? new Uplink({
          config: config.mqtt.uplink,
          boxId: config.boxId,
          name: config.name,
          version: packageVersion(),
          stateDir: config.stateDir,
          events,
          statePublisher,
          telemetry,
          router,
          sources: () => playback.sources(),
          playlists: () => programme.playlists().map((p) => p.name),
          cover: trackCovers(
            (id) => library.get(id)?.path,
            (id) => music.coverArt(id),
          ),
          log: (l, m, e) => log.log(l, m, e),
        })
      : null,
    config.mdns.enabled
      ? new MdnsAdvertiser({
          boxId: config.boxId,
          name: config.name,
          host: config.network.host,
          mqttPort: ports.mqtt,
          httpPort: ports.http,
          streamPort: ports.stream,
          log: (l, m, e) => log.log(l, m, e),
        })
      : null,
  ];
  return { extensions, console };
}

/** The box's own speaker, when it has an output: `auto` is the default ALSA device on a box with a sound card, else the simulated one. */
function boxSpeaker(o: BoxExtensionsOptions): Speaker | null {
  const configured = o.config.audio.device;
  const device = configured === 'auto' ? (fs.existsSync('/dev/snd') ? 'default' : 'sim') : configured;
  const sink = openSink(device, DEFAULT_FORMAT, { bufferMs: 300 });
  return sink && new Speaker({ engine: o.engine, sink, device, clock: o.clock, events: o.events, volume: o.volume, log: o.log });
}
