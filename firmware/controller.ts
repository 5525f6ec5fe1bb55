// The composition root: builds the parts, connects them, starts them in order and
// stops them in reverse. It holds no behaviour of its own: parts report on the
// event bus (domain/box-events.ts), extensions act through the request router
// (requests/router.ts). ARCHITECTURE.md shows the layers and both paths. The
// extensions are built in box-extensions.ts, the stream and who may listen in listening.ts.

import path from 'node:path';
import mqttPacket from 'mqtt-packet';
import { KEY_HELP } from '../hardware/buttons/keyboard-buttons.ts';
import { opusImplementation } from './audio/codecs/opus-backend.ts';
import { AudioEngine } from './audio/engine.ts';
import { parseSourceSpec } from './audio/sources/source-spec.ts';
import type { PlayQueueJSON } from './audio/play-queue.ts';
import { chime } from './audio/sources/chime.ts';
import { FileSource } from './audio/sources/file-source.ts';
import { SourceOpener } from './audio/sources/source-opener.ts';
import { synthesize } from './audio/sources/speech.ts';
import { EmbeddedBroker } from './broker/embedded-broker.ts';
import { boxExtensions } from './box-extensions.ts';
import type { BoxConfig } from './config/config.ts';
import { hashPassword } from './config/password.ts';
import { simOwnerPassword } from './config/sim-owner.ts';
import { Announcements } from './domain/announcements.ts';
import { announceDomainEvents, BoxEvents } from './domain/box-events.ts';
import type { RememberedListeners } from './domain/remembered-listeners.ts';
import type { JoinManager } from './domain/join-manager.ts';
import type { Listeners } from './domain/listener-directory.ts';
import { LiveInput } from './domain/live-input.ts';
import { openNetworkSources } from './domain/network-sources.ts';
import { Playback } from './domain/playback.ts';
import type { TrackPosition } from './domain/playback-control.ts';
import { boxProgramme } from './domain/programme/box-programme.ts';
import type { ShareWindow } from './domain/share-window.ts';
import type { Extension } from './extensions/extension.ts';
import { playLogPage } from './extensions/play-log-export.ts';
import { ensureDemoLibrary } from './library/demo.ts';
import { scanLibrary } from './library/scanner.ts';
import { gainDbFor, LoudnessIndex } from './library/loudness.ts';
import { MusicLibrary } from './library/music-library.ts';
import type { Track } from './library/track.ts';
import { LibraryIndex } from './library/search.ts';
import { startListening } from './listening.ts';
import type { BoxServices } from './requests/context.ts';
import { RateLimiter } from './requests/rate-limit.ts';
import { RequestRouter } from './requests/router.ts';
import { persistedSchema } from './security/public-state.ts';
import { Refusals } from './security/refusals.ts';
import type { StreamServer } from './stream/stream-server.ts';
import type { Logger } from './util/log.ts';
import { fixMmapThreshold } from './util/malloc-tuning.ts';
import { StateStore } from './util/state-store.ts';
import { monotonicUs } from './util/time.ts';
import { startBoxHttp } from './web/http-server.ts';
import { WebServer } from './web/web-server.ts';
import { DEFAULT_FORMAT, type CodecName } from './wire/format.ts';
import { check } from './wire/schema.ts';
import { boxTopics, type BoxTopics } from './wire/topics.ts';

interface Persisted {
  volume: number;
  queue?: PlayQueueJSON;
  position?: TrackPosition;
  /** the music servers' tracks in the queue (Playback.toJSON) */
  remote?: Track[];
}

/** how often the playing track's position is saved, so a box that restarts (even after kill -9) continues near it */
const POSITION_SAVE_MS = 5000;

/** a part of the box that takes longer than this to stop is named in the log (the whole stop has 5 s) */
const SLOW_STOP_MS = 500;

export class Controller {
  readonly topics: BoxTopics;
  readonly events = new BoxEvents();
  readonly refusals = new Refusals();
  broker!: EmbeddedBroker;
  engine!: AudioEngine;
  stream!: StreamServer;
  library!: LibraryIndex;
  /** the box's files and its music servers (config `servers`) */
  music!: MusicLibrary;
  joins!: JoinManager;
  /** listeners the owner let in under policy `button`, kept across restarts */
  remembered!: RememberedListeners;
  shareWindow!: ShareWindow;
  listeners!: Listeners;
  playback!: Playback;
  ports = { mqtt: 0, http: 0, stream: 0 };
  private readonly stops: Array<{ name: string; stop: () => Promise<void> | void }> = [];
  /** the folders the library was scanned from */
  private libraryFolders: string[] = [];
  /** why the library is empty, when it is */
  private noMusic: string | null = null;
  private readonly clock = monotonicUs;

  constructor(
    readonly config: BoxConfig,
    private readonly log: Logger,
  ) {
    this.topics = boxTopics(config.boxId);
  }

  async start(): Promise<void> {
    const config = this.config;
    fixMmapThreshold(); // owner logins must not leave the box larger (util/malloc-tuning.ts)
    const store = new StateStore<Persisted>(config.stateDir, 'playback', validatePersisted, (m) => {
      this.refusals.count('bad_state');
      this.log.warn(m);
    });
    const saved = store.load({ volume: config.audio.volume });
    this.library = await this.scanLibrary();
    const network = openNetworkSources(config, (l, m, e) => this.log.log(l, m, e));
    this.music = new MusicLibrary({ local: this.library, servers: network.servers() });
    this.music.rememberAll(saved.remote ?? []);
    network.on('servers', (servers) => this.music.setServers(servers));

    // the audio path: sources → engine → FIFO → stream
    const codecs = [...new Set<CodecName>([...config.stream.codecs, config.stream.codec])];
    const opener = new SourceOpener({
      silenceSeconds: config.capture.silenceSeconds,
      silenceThreshold: config.capture.silenceThreshold,
      authorize: (server, url) => this.music.authorize(server, url),
    });
    this.engine = new AudioEngine({
      openSource: opener.open,
      format: DEFAULT_FORMAT,
      chunkMs: config.stream.chunkMs,
      latencyMs: config.stream.latencyMs,
      codecs,
      fifoSeconds: config.stream.fifoSeconds,
      clock: this.clock,
      bitrate: config.stream.opusBitrate,
      duckRampMs: config.announce.rampMs,
      crossfadeMs: config.audio.crossfadeMs,
      nextTrack: () => this.playback.nextTrack(),
    });
    const loudness = config.loudness.enabled ? new LoudnessIndex({ file: path.join(config.stateDir, 'loudness.json'), log: (l, m, e) => this.log.log(l, m, e) }) : null;
    const { runner: programme, flush: flushProgramme } = boxProgramme({
      config: config.programme,
      stateDir: config.stateDir,
      library: () => this.library.all(),
      servers: { songs: (server, call) => this.music.serverSongs(server, call) },
      events: this.events,
      log: (l, m, e) => this.log.log(l, m, e),
    });
    this.onStop('programme state', flushProgramme);
    this.playback = new Playback({
      engine: this.engine,
      library: this.music,
      clock: this.clock,
      sourceLabel: config.source,
      liveSources: config.sources,
      stations: network.stations(),
      initialVolume: saved.volume,
      queue: saved.queue,
      resume: saved.position,
      repeat: config.library.repeat,
      crossfadeMs: config.audio.crossfadeMs,
      programme,
      gainDbOf: loudness
        ? (track, kind) =>
            gainDbFor(
              loudness.get(track),
              kind === 'song' ? config.loudness.targetLufs : (config.loudness.interstitialTargetLufs ?? config.loudness.targetLufs),
              config.loudness.truePeakDbtp,
            )
        : undefined,
    });
    if (loudness) {
      void loudness.measureAll(this.library.all());
      this.onStop('loudness', () => loudness.stop());
    }
    network.on('stations', (stations) => this.playback.setStations(stations));
    const liveInput = new LiveInput({
      opener,
      playback: this.playback,
      events: this.events,
      fallback: config.capture.silenceFallback,
      programme: () => programme.active(),
      log: (l, m, e) => this.log.log(l, m, e),
    });
    this.reportAudioErrors(codecs);
    this.playback.on('change', () => store.save(this.playback.toJSON()));
    const positionSaver = setInterval(() => {
      const state = this.playback.toJSON();
      if (state.position && this.engine.state === 'playing') store.save(state);
    }, POSITION_SAVE_MS);
    liveInput.start();
    this.engine.start();
    this.onStop('audio', () => {
      clearInterval(positionSaver);
      store.save(this.playback.toJSON()); // the position while the engine still plays
      liveInput.stop();
      opener.stop();
      this.engine.stop();
      this.playback.stop();
      store.flush();
    });

    // who may listen, and the stream they hear
    const listening = await startListening({
      config,
      engine: this.engine,
      clock: this.clock,
      refusals: this.refusals,
      log: this.log,
      codecs,
      ports: this.ports,
      isSerialOpen: (serial) => this.broker.isSerialOpen(serial), // the broker starts next
      onStop: (name, stop) => this.onStop(name, stop),
    });
    ({ stream: this.stream, shareWindow: this.shareWindow, listeners: this.listeners, remembered: this.remembered, joins: this.joins } = listening);
    announceDomainEvents(this.events, { playback: this.playback, shareWindow: this.shareWindow, joins: this.joins, listeners: this.listeners, stream: this.stream });
    await this.startBroker();

    // the control path: every transport → one router → the domain
    const announce = config.announce;
    const announcements = new Announcements({
      mixer: this.engine.overlay,
      events: this.events,
      chime: () => chime(DEFAULT_FORMAT),
      openFile: (file) => new FileSource(file, { format: DEFAULT_FORMAT }),
      openUrl: (url) => opener.open({ kind: 'url', url, live: false, label: `url:${url}` }),
      speak: (text) => synthesize(text, { voice: announce.voice, dir: path.join(config.stateDir, 'speech') }),
      folders: [...this.libraryFolders, ...announce.folders],
      defaults: { duckDb: announce.duckDb, chime: announce.chime },
      maxQueue: announce.maxQueue,
      latencyMs: config.stream.latencyMs,
    });
    const services: BoxServices = {
      boxId: config.boxId,
      name: config.name,
      permissions: config.permissions,
      library: this.music,
      playback: this.playback,
      joins: this.joins,
      remembered: this.remembered,
      shareWindow: this.shareWindow,
      listeners: this.listeners,
      announcements,
      network,
      persisted: () => Promise.all([store.settled(), this.remembered.settled()]).then(() => undefined),
      programme,
      ...(config.playLog.enabled ? { playLog: { page: (from: string, to: string, cursor?: string) => playLogPage(path.join(config.stateDir, 'playlog'), from, to, cursor) } } : {}),
    };
    const limits = config.limits;
    const router = new RequestRouter({
      box: services,
      limiter: new RateLimiter(config.rateLimit.perMinute, config.rateLimit.burst),
      addressLimiter: new RateLimiter(limits.requestsPerMinutePerAddress, Math.max(config.rateLimit.burst, Math.ceil(limits.requestsPerMinutePerAddress / 6))),
      refusals: this.refusals,
      log: (level, msg, extra) => this.log.log(level, msg, extra),
    });
    const { extensions, console } = await boxExtensions({
      config,
      topics: this.topics,
      events: this.events,
      refusals: this.refusals,
      log: this.log,
      clock: this.clock,
      broker: this.broker,
      engine: this.engine,
      playback: this.playback,
      library: this.library,
      music: this.music,
      listeners: this.listeners,
      joins: this.joins,
      shareWindow: this.shareWindow,
      router,
      services,
      programme,
      codecs,
      volume: saved.volume,
      ports: this.ports,
      noMusic: this.noMusic,
      onStop: (name, stop) => this.onStop(name, stop),
    });
    for (const extension of extensions) if (extension) await this.startExtension(extension);

    // the music starts once everything that follows it (play log, state, events) is listening
    programme.start(this.playback);
    this.onStop('programme', () => programme.stop());
    if (config.source === 'library') {
      const from = this.playback.startQueue();
      if (from && from.ms > 0) this.log.info('continuing the saved track where it was', { trackId: from.trackId, positionMs: from.ms });
    } else this.engine.setSource(parseSourceSpec(config.source));

    if (store.setAside)
      this.events.emit('error', { message: `the saved state was unreadable and was set aside as ${path.basename(store.setAside)}; volume and queue start from defaults` });
    this.log.info('box ready', { boxId: config.boxId, host: config.network.host, ...this.ports, policy: config.share.policy });
    console?.welcome(this.howToJoin());
  }

  private async scanLibrary(): Promise<LibraryIndex> {
    let folders = this.config.library.folders;
    if (folders.length === 0) {
      const demo = path.resolve('demo-music');
      const { created } = await ensureDemoLibrary(demo);
      if (created) this.log.info('generated a demo library', { folder: demo });
      folders = [demo];
    }
    this.libraryFolders = folders;
    const scan = await scanLibrary(folders, { onProblem: (p) => this.log.warn('skipped a file', { ...p }) });
    this.log.info('library scanned', { tracks: scan.tracks.length, problems: scan.problems.length });
    if (scan.tracks.length === 0) {
      const why = folders.map((f) => scan.problems.find((p) => p.path === f)?.error.replace(/^music root /, `${f} `) ?? `${f} has no audio files`);
      this.noMusic = `no music: ${why.join('; ')}`;
      this.log.warn(this.noMusic, { folders });
    }
    return new LibraryIndex(scan.tracks);
  }

  /** Problems of the audio path, logged and told on the bus (event/error). */
  private reportAudioErrors(codecs: CodecName[]): void {
    this.engine.on('source-error', (e) => {
      this.log.warn('cannot play a file, skipping it', { path: e.path, error: e.error.message });
      this.events.emit('error', { message: `cannot play ${path.basename(e.path)}: ${e.error.message}` });
    });
    this.engine.on('produce-error', ({ error, count }) => {
      this.log.error('the audio engine failed to produce a chunk; it played silence instead', { error: error.stack ?? error.message, count });
      this.events.emit('error', { message: `audio engine: ${error.message}`, count });
    });
    if (codecs.includes('opus')) {
      const opus = opusImplementation();
      this.log[opus.kind === 'libopus' ? 'info' : 'warn']('opus codec', { implementation: opus.kind, version: opus.version, ...(opus.reason ? { reason: opus.reason } : {}) });
    }
  }

  /** The MQTT broker, on its port and over WebSocket on the HTTP port beside the web companion. */
  private async startBroker(): Promise<void> {
    const config = this.config;
    // mqtt-packet (aedes's packet writer) otherwise pre-builds a 2-byte Buffer for every
    // 16-bit number on its first packet: 65,536 Buffers, 6 MB of the box's private
    // memory (README "Performance"), to save an allocation per packet id.
    mqttPacket.writeToStream.cacheNumbers = false;
    this.broker = new EmbeddedBroker();
    await this.broker.start({
      host: config.network.host,
      mqttPort: config.mqtt.port,
      boxId: config.boxId,
      owner: this.ownerLogin(),
      refusals: this.refusals,
      limits: config.limits,
      log: (l, m, e) => this.log.log(l, m, e),
    });
    this.ports.mqtt = this.broker.mqttPort;
    const web = new WebServer({
      stream: this.stream,
      clock: this.clock,
      log: (m, e) => this.log.warn(m, e),
      trackPath: (id) => this.library.get(id)?.path,
      remoteCover: (id) => this.music.coverArt(id),
    });
    const http = await startBoxHttp({
      host: config.network.host,
      port: config.http.port,
      refusals: this.refusals,
      web,
      broker: this.broker,
      limits: { perAddress: config.limits.connectionsPerAddress, total: config.limits.connections },
    });
    this.ports.http = http.port;
    this.onStop('broker and HTTP', () => http.close());
  }

  /** the owner's login; a simulated box without one gets a generated password (config/sim-owner.ts) */
  private simPassword: { password: string; file: string } | null = null;
  private ownerLogin(): BoxConfig['owner'] {
    const owner = { ...this.config.owner };
    if (this.config.hardware.sim && !owner.passwordHash) {
      this.simPassword = simOwnerPassword(this.config.stateDir);
      owner.passwordHash = hashPassword(this.simPassword.password);
    }
    return owner;
  }

  /** Starts one extension; one that cannot start is logged and told, and the box runs on without it. */
  private async startExtension(extension: Extension): Promise<void> {
    try {
      await extension.start();
      this.onStop(extension.name, () => extension.stop());
    } catch (e) {
      this.log.error(`${extension.name} could not start; the box runs without it`, { error: (e as Error).message });
      this.events.emit('error', { message: `${extension.name}: ${(e as Error).message}` });
      await Promise.resolve(extension.stop()).catch(() => {});
    }
  }

  private howToJoin(): string {
    const { network, boxId } = this.config;
    const host = network.host === '0.0.0.0' ? '127.0.0.1' : network.host;
    const box = this.ports.mqtt === 1883 ? host : `${host}:${this.ports.mqtt}`;
    const what = this.noMusic
      ? `has ${this.noMusic}\n  Start it with --music pointing at a folder of audio files (make run ARGS='--music ~/Music').`
      : `is ${this.engine.state === 'idle' ? 'ready' : 'playing'} (${this.library.size} tracks).`;
    const password = this.simPassword ? `\n  Owner login: --user owner, password ${this.simPassword.password} (saved in ${this.simPassword.file})` : '';
    return `\n  nearcast box '${boxId}' ${what}${password}\n  Join from another terminal:  nearcast join --box ${box} --device sim\n  Keys: ${KEY_HELP}\n`;
  }

  private onStop(name: string, stop: () => Promise<void> | void): void {
    this.stops.push({ name, stop });
  }

  async stop(): Promise<void> {
    for (let part = this.stops.pop(); part; part = this.stops.pop()) {
      const t0 = performance.now();
      try {
        await part.stop();
        const ms = performance.now() - t0;
        if (ms > SLOW_STOP_MS) this.log.warn('slow to stop', { part: part.name, ms: Math.round(ms) });
      } catch (e) {
        this.log.warn('error while stopping', { part: part.name, error: (e as Error).message });
      }
    }
  }
}

function validatePersisted(value: unknown): Persisted | null {
  const result = check<Persisted>(persistedSchema, value);
  return result.ok ? result.value : null;
}
