// The composition root: builds the parts, starts them in order, stops them in
// reverse. Parts talk through events and small interfaces, not through here.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import mqttPacket from 'mqtt-packet';
import { openSink } from '../hardware/audio/open-sink.ts';
import type { ButtonEvent } from '../hardware/buttons/buttons.ts';
import { GpioButtons } from '../hardware/buttons/gpio-buttons.ts';
import { KeyboardButtons, KEY_HELP, parseButtonCommand } from '../hardware/buttons/keyboard-buttons.ts';
import { loadBoard } from '../hardware/gpio/board.ts';
import { GpiodBackend } from '../hardware/gpio/gpiod-backend.ts';
import { OnoffBackend } from '../hardware/gpio/onoff-backend.ts';
import { chooseBackend } from '../hardware/gpio/select-backend.ts';
import { LedDriver } from '../hardware/leds/led-driver.ts';
import { DnsmasqDhcp } from '../hardware/wifi/dhcp.ts';
import { ApRadio } from '../hardware/wifi/ap-radio.ts';
import { P2pRadio } from '../hardware/wifi/p2p-radio.ts';
import { ledPatterns } from '../hardware/leds/patterns.ts';
import { AudioEngine, parseSourceSpec } from './audio/engine.ts';
import { opusImplementation } from './audio/codecs/opus-backend.ts';
import type { PlayQueueJSON } from './audio/play-queue.ts';
import { identityOf } from './broker/acl.ts';
import { EmbeddedBroker } from './broker/embedded-broker.ts';
import type { BoxConfig } from './config/config.ts';
import { hashPassword } from './config/password.ts';
import { BoxConsole } from './extensions/box-console.ts';
import { simOwnerPassword } from './config/sim-owner.ts';
import { HomeAssistant } from './extensions/home-assistant.ts';
import { LiveInput } from './extensions/live-input.ts';
import { Telemetry } from './extensions/telemetry.ts';
import { SystemTelemetry } from '../hardware/telemetry/system-telemetry.ts';
import { MdnsAdvertiser } from './extensions/mdns.ts';
import { WebServer } from './web/web-server.ts';
import { StatePublisher } from './extensions/state-publisher.ts';
import { ensureDemoLibrary } from './library/demo.ts';
import { scanLibrary } from './library/scanner.ts';
import { LibraryIndex } from './library/search.ts';
import { Playback } from './playback.ts';
import type { BoxServices, Caller } from './requests/context.ts';
import { admit } from './requests/handlers/join.ts';
import { statusData } from './requests/handlers/status.ts';
import { RateLimiter } from './requests/rate-limit.ts';
import { RequestRouter } from './requests/router.ts';
import { guardHttpConnections } from './security/http-limits.ts';
import { Refusals } from './security/refusals.ts';
import { persistedSchema, publicWifi } from './security/public-state.ts';
import { check } from './wire/schema.ts';
import { JoinManager } from './share/join-manager.ts';
import { Listeners } from './share/listener-directory.ts';
import { ShareWindow } from './share/share-window.ts';
import { Speaker } from './speaker.ts';
import { StreamServer } from './stream/stream-server.ts';
import { StreamTokens } from './stream/stream-tokens.ts';
import type { Logger } from './util/log.ts';
import { fixMmapThreshold } from './util/malloc-tuning.ts';
import { StateStore } from './util/state-store.ts';
import { monotonicUs } from './util/time.ts';
import { DEFAULT_FORMAT, type CodecName } from './wire/format.ts';
import { FrameType, PROTOCOL_VERSION, type CodecHeaderFrame } from './wire/frames.ts';
import type { Reply } from './wire/requests.ts';
import { boxTopics, type Op } from './wire/topics.ts';

interface Persisted { volume: number; queue?: PlayQueueJSON }

/** who Home Assistant's commands are handled as (the owner: only the owner may publish them) */
const HA_CALLER: Caller = { clientId: 'homeassistant', serial: 0, address: 'box', role: 'owner' };
/** who the public `state` topic is computed for */
const NOBODY: Caller = { clientId: '', serial: -1, address: '', role: 'guest' };
const VERSION = packageVersion();

/** our package.json's version, found upwards from this module (the sources, or the bundle in dist/firmware/) */
function packageVersion(): string {
  for (let dir = path.dirname(new URL(import.meta.url).pathname), i = 0; i < 4; dir = path.dirname(dir), i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'nearcast' && pkg.version) return pkg.version;
    } catch { /* not here */ }
  }
  return 'unknown';
}

export class Controller {
  private stops: Array<() => Promise<void> | void> = [];
  readonly topics;
  broker!: EmbeddedBroker;
  engine!: AudioEngine;
  stream!: StreamServer;
  library!: LibraryIndex;
  joins!: JoinManager;
  shareWindow!: ShareWindow;
  listeners!: Listeners;
  playback!: Playback;
  ports = { mqtt: 0, http: 0, stream: 0 };

  constructor(readonly config: BoxConfig, private log: Logger) {
    this.topics = boxTopics(config.boxId);
  }

  async start(): Promise<void> {
    const c = this.config;
    fixMmapThreshold(); // owner logins must not leave the box larger (util/malloc-tuning.ts)
    const clock = monotonicUs;
    const refusals = new Refusals();
    this.refusals = refusals;
    const store = new StateStore<Persisted>(c.stateDir, 'playback', validatePersisted, (m) => { refusals.count('bad_state'); this.log.warn(m); });
    const saved = store.load({ volume: c.audio.volume });

    // library
    let folders = c.library.folders;
    if (folders.length === 0) {
      const demo = path.resolve('demo-music');
      const { created } = await ensureDemoLibrary(demo);
      if (created) this.log.info('generated a demo library', { folder: demo });
      folders = [demo];
    }
    const scan = await scanLibrary(folders, { onProblem: (p) => this.log.warn('skipped a file', { ...p }) });
    this.library = new LibraryIndex(scan.tracks);
    this.log.info('library scanned', { tracks: scan.tracks.length, problems: scan.problems.length });
    if (scan.tracks.length === 0) {
      this.noMusic = `no music: ${folders.map((f) => scan.problems.find((p) => p.path === f)?.error.replace(/^music root /, `${f} `) ?? `${f} has no audio files`).join('; ')}`;
      this.log.warn(this.noMusic, { folders });
    }
    if (c.hardware.sim) this.console = new BoxConsole();

    // audio engine and playback
    const codecs = [...new Set<CodecName>([...c.stream.codecs, c.stream.codec])];
    const live = new LiveInput({
      silenceSeconds: c.capture.silenceSeconds, silenceThreshold: c.capture.silenceThreshold, fallback: c.capture.silenceFallback,
      event: (n, p) => this.event(n, p), log: (l, m, e) => this.log.log(l, m, e),
      select: (s) => this.playback.selectSource(s), current: () => this.playback.nowPlaying().source,
    });
    this.engine = new AudioEngine({
      openSource: live.openSource,
      format: DEFAULT_FORMAT, chunkMs: c.stream.chunkMs, latencyMs: c.stream.latencyMs, codecs,
      fifoSeconds: c.stream.fifoSeconds, clock, bitrate: c.stream.opusBitrate,
      nextTrack: () => this.playback.nextTrack(),
    });
    this.playback = new Playback({
      engine: this.engine, library: this.library, clock, sourceLabel: c.source, liveSources: c.sources, initialVolume: saved.volume,
      queue: saved.queue, repeat: c.library.repeat,
    });
    this.engine.on('source-error', (e) => {
      this.log.warn('cannot play a file, skipping it', { path: e.path, error: e.error.message });
      this.event('error', { message: `cannot play ${path.basename(e.path)}: ${e.error.message}` });
    });
    this.playback.on('change', () => { store.save(this.playback.toJSON()); this.statePub?.changed(); });
    this.playback.on('track', (t) => {
      this.event('track', { track: t && { id: t.id, title: t.title, artist: t.artist, album: t.album, durationMs: t.durationMs } });
      this.console?.track(t);
    });
    this.engine.start();
    if (codecs.includes('opus')) {
      const opus = opusImplementation();
      this.log[opus.kind === 'libopus' ? 'info' : 'warn']('opus codec', { implementation: opus.kind, version: opus.version, ...(opus.reason ? { reason: opus.reason } : {}) });
    }
    this.stops.push(() => { live.stop(); this.engine.stop(); this.playback.stop(); store.flush(); });
    if (c.source === 'library') this.playback.startQueue();
    else this.engine.setSource(parseSourceSpec(c.source));

    // stream server
    const tokens = new StreamTokens(c.stream.tokenTtlSeconds * 1000);
    const header = (codec: CodecName): CodecHeaderFrame => ({
      type: FrameType.CodecHeader, version: PROTOCOL_VERSION, codec, sampleRate: DEFAULT_FORMAT.sampleRate,
      channels: DEFAULT_FORMAT.channels, bitsPerSample: 16, chunkMs: c.stream.chunkMs,
      codecDelayFrames: this.engine.codecDelayFrames(codec), latencyMs: c.stream.latencyMs,
    });
    const lim = c.limits;
    this.stream = new StreamServer({
      fifo: this.engine.fifo, tokens, header, clock, joinLeadUs: 30_000, encoding: this.engine, log: (m, e) => this.log.info(m, e), refusals,
      limits: { perAddress: lim.connectionsPerAddress, total: lim.connections, helloTimeoutMs: lim.helloTimeoutMs },
      // a token is good only while the MQTT connection that joined is open (serial 0: issued by the box itself)
      grantValid: (g) => g.serial === 0 || this.broker.isSerialOpen(g.serial),
    });
    this.engine.on('chunk', () => this.stream.pumpAll());
    this.ports.stream = await this.stream.listen(c.stream.port, c.network.host);
    this.stops.push(() => this.stream.close());

    // share policy and listeners
    this.shareWindow = new ShareWindow(c.share.windowSeconds);
    this.listeners = new Listeners({
      tokens, stream: this.stream, defaultCodec: c.stream.codec, availableCodecs: codecs,
      connectWithinMs: Math.min(c.stream.tokenTtlSeconds, lim.unconnectedJoinSeconds) * 1000, onReleased: () => refusals.count('joins_released'),
      grantTemplate: () => ({
        tcpPort: this.ports.stream, wsPath: '/stream', format: { ...DEFAULT_FORMAT }, chunkMs: c.stream.chunkMs, latencyMs: c.stream.latencyMs,
      }),
    });
    this.joins = new JoinManager(c.share.policy, this.shareWindow, () => ({ listeners: this.listeners.count(), max: c.share.maxListeners }),
      Date.now, lim.pendingJoinsPerAddress, (k) => refusals.count(k));

    // broker. mqtt-packet (aedes's packet writer) otherwise pre-builds a 2-byte Buffer
    // for every 16-bit number on its first packet: 65,536 Buffers, 6 MB of the box's
    // private memory (README "Performance"), to save an allocation per packet id.
    mqttPacket.writeToStream.cacheNumbers = false;
    this.broker = new EmbeddedBroker();
    const owner = { ...c.owner };
    if (c.hardware.sim && !owner.passwordHash) {
      this.simPassword = simOwnerPassword(c.stateDir);
      owner.passwordHash = hashPassword(this.simPassword.password);
    }
    await this.broker.start({
      host: c.network.host, mqttPort: c.mqtt.port, boxId: c.boxId, owner, refusals, limits: lim,
      log: (l, m, e) => this.log.log(l, m, e),
    });
    this.ports.mqtt = this.broker.mqttPort;
    const httpServer = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 2000 });
    guardHttpConnections(httpServer, { perAddress: lim.connectionsPerAddress, total: lim.connections }, () => refusals.count('ws_connections'));
    const web = new WebServer({ stream: this.stream, clock, log: (m, e) => this.log.warn(m, e), trackPath: (id) => this.library.get(id)?.path });
    web.attach(httpServer); // the web companion and the stream over WebSocket
    this.broker.attachWebSocket(httpServer, '/mqtt');
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(c.http.port, c.network.host, () => resolve());
    });
    this.ports.http = (httpServer.address() as { port: number }).port;
    this.stops.push(async () => {
      await this.publish(this.topics.availability, { state: 'offline' }, true);
      web.close();
      // the broker first: its WebSocket clients hold upgraded HTTP connections that
      // the HTTP server would otherwise wait for
      const httpClosed = new Promise<void>((r) => httpServer.close(() => r()));
      await this.broker.stop();
      httpServer.closeAllConnections?.();
      await httpClosed;
    });

    // requests
    const services: BoxServices = {
      boxId: c.boxId, name: c.name, permissions: c.permissions, library: this.library, playback: this.playback,
      joins: this.joins, shareWindow: this.shareWindow, listeners: this.listeners,
      reply: (to, op, reply) => this.reply(to, op, reply),
      persisted: () => store.settled(),
    };
    const router = new RequestRouter({
      box: services, limiter: new RateLimiter(c.rateLimit.perMinute, c.rateLimit.burst),
      addressLimiter: new RateLimiter(lim.requestsPerMinutePerAddress, Math.max(c.rateLimit.burst, Math.ceil(lim.requestsPerMinutePerAddress / 6))),
      refusals,
      send: (to, op, reply) => this.reply(to, op, reply),
      log: (level, msg, extra) => this.log.log(level, msg, extra),
    });
    await this.broker.subscribe(this.topics.allRequests, (topic, payload, from) => {
      const r = this.topics.parseRequest(topic);
      if (!r || !from || r.clientId !== identityOf(from.clientId)) return; // the broker's ACL already refuses these
      // an owner's `me~pub` connection acts for `me`
      const caller = from.clientId === r.clientId ? from : { ...from, clientId: r.clientId };
      void router.handle(caller, r.op, payload);
    });
    this.joins.on('decided', ({ pending, approved, reason }) => {
      const t = pending.transaction !== undefined ? { transaction: pending.transaction } : {};
      if (!approved) return this.reply(pending.caller, 'join', { status: 'error', error: reason ?? 'denied', ...t });
      if (!this.broker.isOpen(pending.caller)) return; // withdrawn when it closed; nothing to admit
      try {
        const ctx = { clientId: pending.clientId, role: pending.caller.role, caller: pending.caller, box: services };
        this.reply(pending.caller, 'join', { status: 'ok', data: admit(ctx, pending.request), ...t });
      } catch (e) {
        this.reply(pending.caller, 'join', { status: 'error', error: (e as Error).message, ...t });
      }
    });
    this.broker.on('clientDisconnected', (c) => { this.joins.withdraw(c); this.listeners.connectionClosed(c); });
    if (c.homeassistant.enabled) {
      const ha = new HomeAssistant({
        boxId: c.boxId, name: c.name, version: VERSION, topics: this.topics, sources: () => this.playback.sources(),
        publish: (t, p, retain) => void this.broker.publish(t, p, { retain }),
        subscribe: (f, h) => this.broker.subscribe(f, (t, p) => h(t, p)),
        command: (op, body) => void router.handle(HA_CALLER, op, new TextEncoder().encode(JSON.stringify(body))),
        log: (l, m, e) => this.log.log(l, m, e),
      });
      await ha.start();
    }

    // state topics and events
    this.statePub = new StatePublisher({
      publish: (t, p, retain) => void this.broker.publish(t, p, { retain }),
      stateTopic: this.topics.state, listenersTopic: this.topics.listeners,
      state: () => { const { you: _y, ...s } = statusData({ clientId: '', role: 'guest', caller: NOBODY, box: services }); return s; },
      listeners: () => this.listeners.list(),
    });
    this.shareWindow.on('change', (s) => { this.event('share', s); this.statePub?.changed(); });
    this.joins.on('change', () => this.statePub?.changed());
    this.listeners.on('change', () => this.statePub?.changed());
    this.stream.on('connected', (s) => {
      this.log.info('listener joined', { id: s.clientId, name: s.name, codec: s.codec });
      this.event('join', { id: s.clientId, name: s.name });
      this.console?.listenerJoined(s.name || s.clientId, this.listeners.count());
    });
    this.stream.on('disconnected', (s, reason) => {
      this.log.info('listener left', { id: s.clientId, reason });
      this.event('leave', { id: s.clientId, name: s.name, reason });
      this.console?.listenerLeft(s.name || s.clientId, String(reason), this.listeners.count());
    });
    let waiting = 0;
    this.joins.on('change', () => {
      const p = this.joins.pending.at(-1);
      if (p) this.event('join_pending', { id: p.clientId, name: p.request.name ?? p.clientId });
      if (p && this.joins.pending.length > waiting) this.console?.joinWaiting(p.request.name ?? p.clientId, this.joins.pending.length);
      waiting = this.joins.pending.length;
    });
    if (this.console) {
      const con = this.console;
      this.shareWindow.on('change', (s) => con.share(s, () => this.shareWindow.remainingMs));
      this.stops.push(() => con.stop());
    }
    await this.publish(this.topics.availability, { state: 'online' }, true);
    this.statePub.start();
    const telemetry = new Telemetry({
      intervalSeconds: c.telemetry.intervalSeconds, system: new SystemTelemetry(),
      stream: () => ({
        listeners: this.listeners.count(), chunks: this.engine.stats.chunks, sourceUnderruns: this.engine.stats.sourceUnderruns,
        encoding: this.engine.encoding, opus: codecs.includes('opus') ? opusImplementation().kind : null,
      }),
      refused: () => refusals.snapshot(),
      publish: (p) => void this.broker.publish(this.topics.telemetry, p, { retain: false }),
      log: (l, m, e) => this.log.log(l, m, e),
    });
    telemetry.start();
    this.stops.push(() => telemetry.stop());
    this.stops.push(() => this.statePub?.stop());

    // the box's own speaker
    const device = c.audio.device === 'auto' ? (fs.existsSync('/dev/snd') ? 'default' : 'sim') : c.audio.device;
    const sink = openSink(device, DEFAULT_FORMAT, { bufferMs: 300 });
    if (sink) {
      const speaker = new Speaker(this.engine, sink, clock);
      // the box volume is the speaker's: listeners get the stream at full scale and set their own
      speaker.player.setVolume(this.playback.nowPlaying().volume);
      this.playback.on('volume', (v) => speaker.player.setVolume(v));
      try {
        await speaker.start();
        this.stops.push(() => speaker.stop());
        this.log.info('speaker playing', { device });
      } catch (e) {
        this.log.error('cannot open the speaker; the box keeps sharing without it', { device, error: (e as Error).message });
        this.event('error', { message: `speaker ${device}: ${(e as Error).message}` });
      }
    }

    await this.startButtonsAndLeds();
    this.startRadio(services);

    if (c.mdns.enabled) {
      const mdns = new MdnsAdvertiser({
        boxId: c.boxId, name: c.name, host: c.network.host, mqttPort: this.ports.mqtt, httpPort: this.ports.http, streamPort: this.ports.stream,
        log: (l, m, e) => this.log.log(l, m, e),
      });
      mdns.start();
      this.stops.push(() => mdns.stop());
    }
    if (store.setAside) this.event('error', { message: `the saved state was unreadable and was set aside as ${path.basename(store.setAside)}; volume and queue start from defaults` });
    this.log.info('box ready', { boxId: c.boxId, host: c.network.host, ...this.ports, policy: c.share.policy });
    this.printHowToJoin();
  }

  private statePub: StatePublisher | null = null;
  /** the simulated box's console (`make run`) */
  private console: BoxConsole | null = null;
  /** why the library is empty, when it is */
  private noMusic: string | null = null;
  private simPassword: { password: string; file: string } | null = null;
  refusals!: Refusals;
  private leds: LedDriver | null = null;
  private lastErrorAt = -Infinity;

  /** Buttons and LEDs: GPIO through libgpiod or onoff on a board, or the simulated twin (keyboard, sim/button topic). */
  private async startButtonsAndLeds(): Promise<void> {
    const c = this.config;
    const kind = chooseBackend(c.hardware.buttons.backend, c.hardware.sim);
    if (kind === 'sim') {
      if (c.hardware.sim && c.hardware.keyboard) {
        const kb = new KeyboardButtons();
        kb.on('press', (e) => this.onButton(e));
        kb.on('quit', () => process.kill(process.pid, 'SIGINT'));
        kb.start();
        this.stops.push(() => kb.stop());
      }
      if (c.hardware.sim) await this.broker.subscribe(this.topics.prefix + 'sim/button', (_t, payload) => this.onSimButton(payload));
      this.leds = new LedDriver((led, on) => this.log.debug('LED', { led, on }));
    } else {
      try {
        const board = loadBoard(c.hardware.board, { buttons: c.hardware.buttons.map, leds: c.hardware.leds.map });
        const onError = (m: string) => { this.log.warn('GPIO problem', { error: m }); this.event('error', { message: `GPIO: ${m}` }); };
        const gpio = kind === 'gpiod' ? await GpiodBackend.open(board.gpiochip, onError) : await OnoffBackend.open(board.gpiochip);
        const buttons = new GpioButtons(gpio, board.buttons);
        buttons.on('press', (e) => this.onButton(e));
        await buttons.startWatching();
        this.leds = new LedDriver((led, on) => gpio.setLed(board.leds[led], on));
        this.stops.push(() => gpio.close(), () => buttons.stop());
        this.log.info('buttons and LEDs', { backend: kind, board: board.name });
      } catch (e) {
        this.log.error('no buttons or LEDs; the box runs without them', { backend: kind, error: (e as Error).message });
        this.event('error', { message: `buttons (${kind}): ${(e as Error).message}` });
        return;
      }
    }
    const update = () => this.showLeds();
    this.shareWindow.on('change', update);
    this.joins.on('change', update);
    this.playback.on('change', update);
    const tick = setInterval(update, 5000); // errors fade after 10 s
    tick.unref();
    this.stops.push(() => { clearInterval(tick); this.leds?.stop(); });
    update();
  }

  /** Wi-Fi Direct group (or access point) the phones join; the share window arms WPS push-button on it. */
  private startRadio(services: BoxServices): void {
    const w = this.config.wifi;
    const socket = path.join(w.ctrlDir, w.interface);
    const mode = w.mode === 'auto' ? (!this.config.hardware.sim && fs.existsSync(socket) ? 'p2p' : 'none') : w.mode;
    if (mode === 'none') return;
    const problem = (m: string) => { this.log.warn('Wi-Fi', { mode, problem: m }); this.event('error', { message: `Wi-Fi (${mode}): ${m}` }); };
    const runDir = path.join(this.config.stateDir, 'wifi');
    const dhcp = w.dhcp ? new DnsmasqDhcp(runDir, problem) : null;
    const name = w.deviceName ?? this.config.name;
    if (mode === 'ap' && !w.passphrase) {
      problem('wifi.mode ap needs wifi.passphrase (8-63 characters); the access point stays off');
      return;
    }
    const radio = mode === 'ap'
      ? new ApRadio({ iface: w.interface, ssid: name, passphrase: w.passphrase!, freq: w.freq, runDir, dhcp })
      : new P2pRadio({ ctrlDir: w.ctrlDir, iface: w.interface, deviceName: name, freq: w.freq, passphrase: w.passphrase, dhcp });
    // the group's passphrase is secret: public state and status show the group without it,
    // the owner reads it on an owner-only topic
    services.radio = () => publicWifi(radio.state);
    const ownerWifi = () => void this.broker.publish(this.topics.prefix + 'owner/wifi', JSON.stringify(radio.state), { retain: true });
    radio.on('state', ownerWifi);
    radio.on('state', (s) => { this.event('wifi', s.state === 'up' ? { state: 'up', ssid: s.group.ssid, freq: s.group.freq, iface: s.group.iface } : s); this.statePub?.changed(); });
    radio.on('station', (s) => this.event(s.connected ? 'wifi_station_connected' : 'wifi_station_disconnected', s));
    radio.on('wps', (s) => this.event('wps', s));
    radio.on('problem', problem);
    this.shareWindow.on('change', (s) => {
      if (radio.state.state !== 'up') return;
      (s.open ? radio.armWps() : radio.cancelWps()).catch((e: Error) => problem(e.message));
    });
    radio.start();
    this.stops.push(() => radio.stop());
  }

  private showLeds(): void {
    this.leds?.show(ledPatterns({
      playing: this.engine.state === 'playing', shareOpen: this.shareWindow.snapshot().open,
      pendingJoins: this.joins.pending.length, error: Date.now() - this.lastErrorAt < 10_000,
    }));
  }

  /** nearcast/<boxId>/sim/button (simulated hardware only): {"button":"share","gesture":"click"} */
  private onSimButton(payload: Buffer): void {
    let e: ReturnType<typeof parseButtonCommand> = null;
    try {
      const j = JSON.parse(payload.toString('utf8')) as { button?: unknown; gesture?: unknown };
      if (typeof j.button === 'string') e = parseButtonCommand(`${j.button} ${typeof j.gesture === 'string' ? j.gesture : 'click'}`);
    } catch { /* reported below */ }
    if (!e || e === 'quit') {
      this.event('error', { message: `sim/button: expected {"button":"share|playPause|next|volumeUp|volumeDown","gesture":"click|double|long"}, got ${payload.toString('utf8').slice(0, 80)}` });
      return;
    }
    this.onButton(e);
  }

  onButton(e: ButtonEvent): void {
    this.event('button', e);
    const effect = this.buttonEffect(e);
    this.console?.button(e, effect);
  }

  /** Does what the button means; returns what happened, in words. */
  private buttonEffect(e: ButtonEvent): string {
    if (e.button === 'share' && e.gesture === 'click') {
      const p = this.joins.approve();
      if (p) {
        this.log.info('share button approved a join', { id: p.clientId });
        return `approved ${p.request.name ?? p.clientId}'s join`;
      }
      this.shareWindow.open();
      return 'opened the share window';
    }
    if (e.button === 'share' && e.gesture === 'long') {
      this.shareWindow.close();
      const refused = this.joins.pending.length;
      for (const p of [...this.joins.pending]) this.joins.deny(p.clientId, 'sharing stopped on the box');
      const n = this.listeners.removeAll('sharing stopped on the box');
      this.log.info('sharing stopped', { disconnected: n });
      return `sharing stopped: ${n} listener(s) disconnected, ${refused} waiting join(s) refused`;
    }
    if (e.button === 'playPause') {
      this.playback.control('toggle');
      return this.engine.state === 'playing' ? 'playing' : this.noMusic ? `nothing to play (${this.noMusic})` : 'paused';
    }
    if (e.button === 'next') {
      if (this.noMusic) return `nothing to skip (${this.noMusic})`;
      this.playback.control('next');
      return 'next track';
    }
    if (e.button === 'volumeUp' || e.button === 'volumeDown') {
      const v = this.playback.setVolume(this.playback.nowPlaying().volume + (e.button === 'volumeUp' ? 5 : -5));
      return `volume ${v}`;
    }
    return 'no effect';
  }

  private printHowToJoin(): void {
    if (!this.config.hardware.sim) return;
    const host = this.config.network.host === '0.0.0.0' ? '127.0.0.1' : this.config.network.host;
    const box = this.ports.mqtt === 1883 ? host : `${host}:${this.ports.mqtt}`;
    const what = this.noMusic
      ? `has ${this.noMusic}\n  Start it with --music pointing at a folder of audio files (make run ARGS='--music ~/Music').`
      : `is ${this.engine.state === 'idle' ? 'ready' : 'playing'} (${this.library.size} tracks).`;
    const pw = this.simPassword ? `\n  Owner login: --user owner, password ${this.simPassword.password} (saved in ${this.simPassword.file})` : '';
    process.stdout.write(`\n  nearcast box '${this.config.boxId}' ${what}${pw}\n  Join from another terminal:  nearcast join --box ${box} --device sim\n  Keys: ${KEY_HELP}\n\n`);
  }

  private publish(topic: string, payload: object, retain: boolean): Promise<void> {
    return this.broker.publish(topic, JSON.stringify(payload), { retain });
  }

  /** to the connection that asked (and nobody else) */
  private reply(to: Caller, op: Op | string, reply: Reply): void {
    this.broker.sendTo(to, this.topics.response(to.clientId, op), JSON.stringify(reply));
  }

  private event(name: string, payload: object): void {
    if (name === 'error') { this.lastErrorAt = Date.now(); this.showLeds(); }
    void this.broker?.publish(this.topics.event(name), JSON.stringify(payload), { retain: false });
  }

  async stop(): Promise<void> {
    while (this.stops.length) {
      const s = this.stops.pop()!;
      try { await s(); } catch (e) { this.log.warn('error while stopping', { error: (e as Error).message }); }
    }
  }
}

function validatePersisted(v: unknown): Persisted | null {
  const r = check<Persisted>(persistedSchema, v);
  return r.ok ? r.value : null;
}
