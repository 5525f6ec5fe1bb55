// The uplink: the box connects out to an external MQTT broker (Mosquitto, Home
// Assistant's add-on, a shop's central broker) with mqtt.js, MQTT 5 with a 3.1.1
// fallback (README.md "MQTT uplink"). Up go the box's public topics under
// `<prefix>/<boxId>/`: `availability` (online, and offline as the last will, both
// retained), `state` and `listeners` (retained, as the state publisher publishes
// them), `event/<name>` (from the bus, each with an `id` and `at`, queued on disk
// while the uplink is down: uplink-queues.ts), `telemetry` (queued the same way in
// its own, smaller outbox), `cover` (the now-playing picture for Home Assistant's
// image entity, retained: uplink-cover.ts), and Home Assistant's device discovery. Down come the owner's requests on
// `<prefix>/<boxId>/client/<clientId>/request/<op>` (the embedded broker's shape),
// answered on `.../client/<clientId>/response/<op>`, and Home Assistant's commands
// on `<prefix>/<boxId>/ha/<entity>/set`; both run through the request router as
// the UPLINK and HOME_ASSISTANT callers, with the owner's rights.
//
// The two brokers never meet: nothing a guest publishes on the embedded broker is
// read here (the uplink hears only the bus and the box's publishers), and what
// comes down the uplink reaches the box only as requests, whose effects the box
// publishes itself.

import type { EventEmitter } from 'node:events';
import type { connect as mqttConnect, IPublishPacket, MqttClient } from 'mqtt';
import { PUBLISHED_EVENTS, type BoxEvents } from '../domain/box-events.ts';
import { HOME_ASSISTANT, UPLINK } from '../domain/caller.ts';
import { replyOp, type RequestRouter } from '../requests/router.ts';
import { parseRequest, type Reply } from '../wire/requests.ts';
import { CLIENT_ID_PATTERN, isOp, type Op } from '../wire/topics.ts';
import { publishedEventPayload, type PublishedName } from './event-publisher.ts';
import type { Extension } from './extension.ts';
import { deviceConfig, homeAssistantCommand } from './home-assistant-discovery.ts';
import type { StatePublisher } from './state-publisher.ts';
import type { Telemetry } from './telemetry.ts';
import { protocolVersions, reconnectDelayMs, refusedProtocol, type ProtocolVersion, type UplinkConfig, uplinkClientOptions, urlForLogs } from './uplink-connection.ts';
import type { CoverArt } from '../web/cover-art.ts';
import { NowPlayingCover } from './uplink-cover.ts';
import type { QueuedEvent } from './uplink-outbox.ts';
import { UplinkQueues } from './uplink-queues.ts';

/** what the owner may not ask over the uplink: joining and leaving belong to a listener on the box's own network (every other op is allowed) */
export const LOCAL_ONLY_OPS: readonly Op[] = ['join', 'leave'];

/** how long stop() waits for the broker to take the offline message */
const STOP_TIMEOUT_MS = 3000;

export interface UplinkOptions {
  config: UplinkConfig;
  boxId: string;
  name: string;
  version: string;
  stateDir: string;
  events: BoxEvents;
  statePublisher: Pick<StatePublisher, 'on' | 'off' | 'latest'>;
  telemetry?: Pick<Telemetry, 'on' | 'off'> | null;
  router: Pick<RequestRouter, 'handle' | 'ask'>;
  sources(): string[];
  /** the programme's playlist names, for Home Assistant's playlist select */
  playlists?(): string[];
  /** a track's cover picture (web/cover-art.ts trackCovers); absent: no cover entity */
  cover?: (trackId: string) => Promise<CoverArt | null>;
  log(level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>): void;
  random?: () => number;
}

export class Uplink implements Extension {
  readonly name = 'uplink';
  private announcedPlaylists = '';
  /** `<prefix>/<boxId>/` on the external broker */
  readonly base: string;
  private readonly queues: UplinkQueues;
  private readonly cover: NowPlayingCover | null;
  private client: MqttClient | null = null;
  private connectedVersion: ProtocolVersion | null = null;
  /** failed attempts since the last connection (the backoff's exponent) */
  private attempt = 0;
  /** which protocol version of protocolVersions() the next attempt uses */
  private versionIndex = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly detach: Array<() => void> = [];
  /** connections made so far (tests and logs) */
  connections = 0;
  /** mqtt.js, loaded only by a box that has an uplink (importing it costs about 20 MB of RSS) */
  private connectMqtt: typeof mqttConnect | null = null;

  constructor(private readonly options: UplinkOptions) {
    this.base = `${options.config.prefix}/${options.boxId}/`;
    this.queues = new UplinkQueues({
      stateDir: options.stateDir,
      queueEvents: options.config.queueEvents,
      queueTelemetry: options.config.queueTelemetry,
      onProblem: (message) => options.log('warn', message),
      sender: () => (this.client && this.connected ? (topic, message, done) => this.sendQueued(topic, message, done) : null),
    });
    const cover = options.cover;
    this.cover =
      cover && options.config.homeassistant
        ? new NowPlayingCover({ cover, onCover: (bytes) => this.publishCover(bytes), log: (level, msg, extra) => options.log(level, msg, extra) })
        : null;
  }

  get connected(): boolean {
    return this.connectedVersion !== null;
  }

  /** events waiting for the broker's acknowledgement */
  get queued(): number {
    return this.queues.events.size;
  }

  /** telemetry messages waiting for the broker's acknowledgement */
  get queuedTelemetry(): number {
    return this.queues.telemetry.size;
  }

  async start(): Promise<void> {
    // a configuration mistake is told at start (the controller logs it and the box runs without the uplink)
    uplinkClientOptions(this.options.config, this.options.boxId, 5, this.will());
    this.connectMqtt = (await import('mqtt')).connect;
    this.listen();
    this.connect();
  }

  private will() {
    return { topic: this.base + 'availability', payload: JSON.stringify({ state: 'offline' }) };
  }

  /** The box's news: the bus's events, the state publisher's topics, telemetry. */
  private listen(): void {
    const { statePublisher, telemetry } = this.options;
    // every published event has one payload object; the bus as a plain emitter lets one loop serve them all
    const bus: EventEmitter = this.options.events;
    for (const name of PUBLISHED_EVENTS) {
      const shape = publishedEventPayload as (name: PublishedName, payload: object) => object;
      const listener = (payload: object) => this.queues.addEvent(name, shape(name, payload));
      bus.on(name, listener);
      this.detach.push(() => bus.off(name, listener));
    }
    // a station added or removed: Home Assistant's select offers the new list
    const onSources = () => this.announce();
    this.options.events.on('sources', onSources);
    this.detach.push(() => this.options.events.off('sources', onSources));
    // a programme replaced over MQTT changes the playlists Home Assistant's select offers
    const onChanged = () => {
      if (JSON.stringify(this.options.playlists?.() ?? []) !== this.announcedPlaylists) this.announce();
    };
    bus.on('changed', onChanged);
    this.detach.push(() => bus.off('changed', onChanged));
    const onState = (topic: 'state' | 'listeners', payload: string) => this.publishLive(topic, payload, true);
    statePublisher.on('published', onState);
    this.detach.push(() => statePublisher.off('published', onState));
    if (telemetry) {
      const onTelemetry = (payload: string) => this.onTelemetry(payload);
      telemetry.on('published', onTelemetry);
      this.detach.push(() => telemetry.off('published', onTelemetry));
    }
    const cover = this.cover;
    if (cover) {
      const onTrack = ({ track }: { track: { id: string } | null }) => void cover.track(track?.id ?? null);
      this.options.events.on('track', onTrack);
      this.detach.push(() => this.options.events.off('track', onTrack));
    }
  }

  /** telemetry is queued like the events (bounded, the newest kept), and sent once acknowledged */
  private onTelemetry(payload: string): void {
    let reading: unknown;
    try {
      reading = JSON.parse(payload);
    } catch {
      return; // the telemetry publisher writes JSON; anything else is not forwarded
    }
    if (typeof reading !== 'object' || reading === null || Array.isArray(reading)) return;
    this.queues.addTelemetry(reading);
  }

  private publishCover(bytes: Buffer): void {
    if (!this.client || !this.connected) return; // the latest goes up on connect
    this.client.publish(this.base + 'cover', bytes, { qos: 1, retain: true });
  }

  /** state and listeners: only the latest matters, so nothing is queued while down (they go up again on connect) */
  private publishLive(topic: string, payload: string, retain: boolean): void {
    if (!this.client || !this.connected) return;
    this.client.publish(this.base + topic, payload, { qos: retain ? 1 : 0, retain });
  }

  private connect(): void {
    if (this.stopped || !this.connectMqtt) return;
    const versions = protocolVersions(this.options.config);
    const version = versions[this.versionIndex % versions.length] ?? 5;
    let client: MqttClient;
    try {
      const { url, options } = uplinkClientOptions(this.options.config, this.options.boxId, version, this.will());
      client = this.connectMqtt(url, options);
    } catch (e) {
      // checked at start, so a file that went missing since (a credential being replaced): try again later
      this.options.log('error', 'uplink cannot connect', { error: (e as Error).message });
      this.scheduleReconnect();
      return;
    }
    this.client = client;
    let refused = false;
    client.on('connect', () => void this.onConnect(client, version));
    client.on('message', (topic, payload, packet) => this.onMessage(client, topic, payload, packet));
    client.on('error', (error) => {
      refused = versions.length > 1 && refusedProtocol(error);
      this.options.log(refused ? 'info' : 'warn', refused ? 'uplink broker refuses this MQTT version; trying the next' : 'uplink connection problem', {
        url: urlForLogs(this.options.config.url),
        protocol: version === 5 ? '5' : '3.1.1',
        error: error.message,
      });
    });
    client.on('close', () => {
      if (client !== this.client) return;
      const wasConnected = this.connected;
      this.client = null;
      this.connectedVersion = null;
      this.queues.disconnected();
      client.end(true);
      if (wasConnected) this.options.log('warn', 'uplink lost; the box runs on and queues its events', { queued: this.queues.events.size });
      // a refused version: the next one at once; after a connection that was lost, MQTT 5 first again
      // (a broker upgraded since the fallback, or a 3.1.1 fallback that was only a passing refusal)
      if (refused) this.versionIndex++;
      else if (wasConnected) this.versionIndex = 0;
      this.scheduleReconnect(refused);
    });
  }

  private scheduleReconnect(now = false): void {
    if (this.stopped || this.reconnectTimer) return;
    const { reconnectMinSeconds, reconnectMaxSeconds } = this.options.config;
    const delay = now ? 0 : reconnectDelayMs(this.attempt++, reconnectMinSeconds, reconnectMaxSeconds, this.options.random);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private async onConnect(client: MqttClient, version: ProtocolVersion): Promise<void> {
    this.connectedVersion = version;
    this.attempt = 0;
    this.connections++;
    const { config } = this.options;
    this.options.log('info', 'uplink connected', {
      url: urlForLogs(config.url),
      protocol: version === 5 ? '5' : '3.1.1',
      queued: this.queues.events.size,
      dropped: this.queues.events.droppedCount,
    });
    try {
      const filters = [this.base + 'client/+/request/+', this.base + 'ha/+/set', ...(config.homeassistant ? [`${config.discoveryPrefix}/status`] : [])];
      // MQTT 5: no-local (the box never hears its own messages back) and retain-as-published
      // (a retained command is seen as such, and refused, also when it arrives live)
      await client.subscribeAsync(filters, { qos: 1, ...(version === 5 ? { nl: true, rap: true } : {}) });
      if (client !== this.client) return;
      // the version too: a fleet lists it (Home Assistant reads only `state`)
      client.publish(this.base + 'availability', JSON.stringify({ state: 'online', version: this.options.version }), { qos: 1, retain: true });
      const latest = this.options.statePublisher.latest();
      if (latest.state) client.publish(this.base + 'state', latest.state, { qos: 1, retain: true });
      if (latest.listeners) client.publish(this.base + 'listeners', latest.listeners, { qos: 1, retain: true });
      const cover = this.cover?.latest;
      if (cover) client.publish(this.base + 'cover', cover, { qos: 1, retain: true });
      this.announce();
      void this.queues.pump();
    } catch (e) {
      this.options.log('warn', 'uplink could not subscribe to its command topics', { error: (e as Error).message });
      client.end(true); // closes: the next attempt starts over
    }
  }

  /** Home Assistant's device config, retained (again whenever Home Assistant comes online). */
  announce(): void {
    const { config, boxId, name, version } = this.options;
    if (!config.homeassistant || !this.client || !this.connected) return;
    this.announcedPlaylists = JSON.stringify(this.options.playlists?.() ?? []);
    const { topic, payload } = deviceConfig(
      {
        boxId,
        name,
        version,
        sources: this.options.sources(),
        playlists: this.options.playlists?.() ?? [],
        triggerMatch: 'template',
        topics: {
          state: this.base + 'state',
          availability: this.base + 'availability',
          buttonEvent: this.base + 'event/button',
          command: (entity) => `${this.base}ha/${entity}/set`,
          ...(this.cover ? { cover: this.base + 'cover' } : {}),
        },
      },
      config.discoveryPrefix,
    );
    this.client.publish(topic, JSON.stringify(payload), { qos: 1, retain: true });
  }

  /** one queued message up, with its id also as an MQTT 5 user property */
  private sendQueued(topic: string, event: QueuedEvent, done: (error?: Error) => void): void {
    const client = this.client;
    if (!client || !this.connected) {
      done(new Error('uplink not connected'));
      return;
    }
    const properties = this.connectedVersion === 5 ? { properties: { userProperties: { id: event.id } } } : {};
    client.publish(this.base + topic, JSON.stringify(event.payload), { qos: 1, retain: false, ...properties }, (error) => done(error ?? undefined));
  }

  private onMessage(client: MqttClient, topic: string, payload: Buffer, packet: IPublishPacket): void {
    try {
      const { config } = this.options;
      if (topic === `${config.discoveryPrefix}/status`) {
        if (payload.toString().trim() === 'online') this.announce();
        return;
      }
      if (!topic.startsWith(this.base)) return;
      const parts = topic.slice(this.base.length).split('/');
      if (parts.length === 3 && parts[0] === 'ha' && parts[2] === 'set') this.homeAssistant(parts[1] ?? '', payload.toString().trim(), packet.retain);
      else if (parts.length === 4 && parts[0] === 'client' && parts[2] === 'request') this.request(client, parts[1] ?? '', parts[3] ?? '', payload, packet);
    } catch (e) {
      this.options.log('error', 'uplink message handling failed', { topic: topic.slice(0, 200), error: (e as Error).stack });
    }
  }

  private homeAssistant(entity: string, value: string, retained: boolean): void {
    if (retained) {
      this.options.log('warn', 'uplink: a retained Home Assistant command is ignored (it would run again at every reconnect)', { entity: entity.slice(0, 40) });
      return;
    }
    const command = homeAssistantCommand(entity, value);
    if ('error' in command) {
      this.options.log('warn', 'Home Assistant command refused', { error: command.error });
      return;
    }
    void this.options.router.ask(HOME_ASSISTANT, command.op, command.body).then((reply) => {
      if (reply.status === 'error') this.options.log('warn', 'Home Assistant command refused', { op: command.op, error: reply.error });
    });
  }

  /** An owner's request: one reply, on the requester's response topic (MQTT 5 correlation data echoed). */
  private request(client: MqttClient, clientId: string, op: string, payload: Buffer, packet: IPublishPacket): void {
    if (!CLIENT_ID_PATTERN.test(clientId)) {
      this.options.log('warn', 'uplink: a request with an unusable client id is ignored', { clientId: clientId.slice(0, 80) });
      return;
    }
    const correlation = packet.properties?.correlationData;
    const reply = (answer: Reply) => {
      if (client !== this.client) return; // the connection that asked is gone; the requester will ask again
      const properties = correlation && this.connectedVersion === 5 ? { properties: { correlationData: correlation } } : {};
      client.publish(`${this.base}client/${clientId}/response/${replyOp(op)}`, JSON.stringify(answer), { qos: 1, ...properties });
    };
    const refuse = (error: string) => {
      const { transaction } = parseRequest('status', payload); // only to echo it: any op's payload carries it the same way
      reply({ status: 'error', error, ...(transaction !== undefined ? { transaction } : {}) });
    };
    if (packet.retain) refuse('a retained request is refused: it would run again at every reconnect');
    else if (isOp(op) && LOCAL_ONLY_OPS.includes(op)) refuse(`'${op}' is not available over the uplink: listeners join on the box's own network`);
    else void this.options.router.handle(UPLINK, op, payload).then(reply);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    for (const off of this.detach.splice(0)) off();
    const client = this.client;
    this.client = null;
    if (client && this.connected) {
      this.connectedVersion = null;
      const offline = new Promise<void>((resolve) => client.publish(this.base + 'availability', this.will().payload, { qos: 1, retain: true }, () => resolve()));
      await bounded(
        offline.then(() => client.endAsync()),
        STOP_TIMEOUT_MS,
      );
    }
    client?.end(true);
    this.queues.flush();
  }
}

function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([
    work.then(
      () => {},
      () => {},
    ),
    timeout,
  ]).finally(() => clearTimeout(timer));
}
