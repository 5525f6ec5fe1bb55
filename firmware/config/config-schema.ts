// The box configuration's one truth: its JSON Schema, written with TypeBox so that
// the TypeScript type of a loaded configuration (`BoxConfig` in config.ts) is derived
// from the same declarations that validate it.
//
// Why TypeBox at build time only: importing TypeBox costs the box about 2 MB of V8
// heap and 15 MB of RSS (measured in a bare node process), and the box already misses
// its RSS target (README "Performance"). So this module never runs on the box:
// `make config-schema` writes it out as config/schema.json, which the box validates
// with ajv and which editors and YAML language servers read; config.ts imports only
// its type. test/unit/firmware/config/config-schema.test.ts fails when the file is
// out of date. (json-schema-to-ts would also keep the runtime clean, but its types
// come from one large `as const` literal whose arrays turn readonly and whose nested
// inference strains the compiler; TypeBox composes small named pieces.)
//
// Requiredness: a property without `Type.Optional` is required in `BoxConfig`, and it
// is present after loading because it has a `default` (ajv's useDefaults fills it in);
// the test checks that every required property has one. The file schema drops
// `required`: a configuration file only names what it changes.
//
// The `programme` section is declared in programme-schema.ts, and the kinds of property
// that both files use (OneOf, Nullable, Section) in schema-builders.ts.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { Nullable, OneOf, Section } from './schema-builders.ts';
import { Programme } from './programme-schema.ts';

const Port = (port: number) => Type.Integer({ minimum: 0, maximum: 65535, default: port });
const Permission = (who: 'owner' | 'listeners' | 'nobody') => OneOf(['owner', 'listeners', 'nobody'], { default: who });
const GpioLine = Type.Optional(Type.Integer({ minimum: 0, maximum: 511 }));
const CODECS = ['opus', 'pcm'] as const;
const LIVE_SOURCE = 'silence|tone:[0-9]+(\\.[0-9]+)?|pipe(:.+)?|capture:.+|url:https?://.+';

// ---- mqtt.uplink: the box's connection out to an external MQTT broker (README.md "Home Assistant", "MQTT uplink") ----
const FilePath = (description: string) => Nullable(Type.String({ minLength: 1 }), { default: null, description });
const MqttUplink = Section(
  {
    url: Nullable(Type.String({ pattern: '^(mqtt|mqtts|ws|wss)://[^\\s]+$' }), {
      default: null,
      description: 'the external broker, mqtt:// mqtts:// ws:// or wss:// (null: no uplink)',
    }),
    username: Nullable(Type.String({ minLength: 1, maxLength: 256 }), { default: null }),
    password: Nullable(Type.String({ maxLength: 1024 }), {
      default: null,
      description: 'better kept out of the file: NEARCAST_MQTT__UPLINK__PASSWORD, or passwordFile',
    }),
    passwordFile: FilePath('a file holding the password (its first line), e.g. a systemd credential'),
    ca: FilePath('PEM file of the CA that signed the broker certificate (default: the system CAs)'),
    cert: FilePath('PEM client certificate, for brokers that authenticate boxes by certificate'),
    key: FilePath('PEM private key of the client certificate'),
    clientId: Nullable(Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$' }), { default: null, description: 'default nearcast-<boxId>' }),
    protocol: OneOf(['auto', '5', '3.1.1'], { type: 'string', default: 'auto', description: 'auto: MQTT 5, and 3.1.1 when the broker refuses 5' }),
    keepaliveSeconds: Type.Integer({ minimum: 5, maximum: 3600, default: 30 }),
    prefix: Type.String({
      pattern: '^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$',
      maxLength: 128,
      default: 'nearcast',
      description: 'the box topics go under <prefix>/<boxId>/ (a shop: nearcast/shop-a)',
    }),
    homeassistant: Type.Boolean({ default: true, description: 'Home Assistant device discovery on the uplink' }),
    discoveryPrefix: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'homeassistant' }),
    queueEvents: Type.Integer({ minimum: 0, maximum: 100000, default: 1000, description: 'events kept on disk while the uplink is down (the oldest dropped beyond)' }),
    queueTelemetry: Type.Integer({
      minimum: 0,
      maximum: 100000,
      default: 240,
      description: 'telemetry messages kept on disk while the uplink is down (the oldest dropped beyond; 240 is two hours at 30 s)',
    }),
    reconnectMinSeconds: Type.Number({ minimum: 0.1, maximum: 60, default: 1 }),
    reconnectMaxSeconds: Type.Number({ minimum: 1, maximum: 3600, default: 60 }),
  },
  { description: "an uplink to an external MQTT 5 broker (Mosquitto, Home Assistant's add-on, a fleet broker): box topics up, owner commands down" },
);
// ---- end of mqtt.uplink ----

export const ConfigSchema = Type.Object(
  {
    boxId: Type.Optional(Type.String({ pattern: '^[a-zA-Z0-9_-]{1,64}$', description: 'topic id of the box; default nearcast-<hostname>' })),
    name: Type.String({ minLength: 1, maxLength: 64, default: 'nearcast' }),
    network: Section({ host: Type.String({ minLength: 1, default: '0.0.0.0' }) }),
    mqtt: Section({ port: Port(1883), uplink: MqttUplink }),
    http: Section({ port: Port(8080) }),
    stream: Section({
      port: Port(4953),
      codec: OneOf(CODECS, { default: 'opus' }),
      codecs: Type.Array(OneOf(CODECS), { minItems: 1, uniqueItems: true, default: ['opus', 'pcm'] }),
      opusBitrate: Type.Integer({ minimum: 16000, maximum: 512000, default: 128000 }),
      latencyMs: Type.Integer({ minimum: 100, maximum: 5000, default: 400 }),
      chunkMs: OneOf([10, 20, 40], { default: 20 }),
      fifoSeconds: Type.Number({ minimum: 1, maximum: 60, default: 5 }),
      tokenTtlSeconds: Type.Integer({ minimum: 5, maximum: 3600, default: 60 }),
    }),
    audio: Section({
      device: Type.String({
        minLength: 1,
        default: 'auto',
        description: "the box's own speaker: auto (the ALSA default device when the machine has a sound card, else the simulated DAC), an ALSA PCM name, sim, sim:<ppm> or none",
      }),
      volume: Type.Integer({ minimum: 0, maximum: 100, default: 60 }),
      priority: Type.Integer({
        minimum: -20,
        maximum: 19,
        default: -10,
        description:
          "the box's CPU priority as a nice value, set before its speaker and capture devices open: its audio comes first on a busy machine; 0 leaves it; raising it needs CAP_SYS_NICE (systemd's Nice= gives it)",
      }),
      crossfadeMs: Type.Integer({
        minimum: 0,
        maximum: 10000,
        default: 0,
        description: 'songs overlap by this much, one fading out as the next fades in; the next track of the same album follows gapless; 0: back to back',
      }),
    }),
    library: Section({
      folders: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
      repeat: OneOf(['all', 'none'], { default: 'all' }),
    }),
    source: Type.String({ pattern: `^(library|${LIVE_SOURCE})$`, default: 'library' }),
    sources: Type.Array(Type.String({ pattern: `^(${LIVE_SOURCE})$` }), {
      uniqueItems: true,
      maxItems: 16,
      default: [],
      description: "live sources the owner may switch to at run time (MQTT 'source', Home Assistant select) besides 'library' and 'source'",
    }),
    // ---- network music: radio stations and music servers (README "Radio and music servers") ----
    stations: Type.Array(
      Type.Object(
        {
          // a name is what the `source` request and the Home Assistant select show: never one of the source forms
          name: Type.String({ pattern: '^(?!(library|silence|pipe)$)[^:]{1,64}$', description: "what the owner picks (MQTT 'source', Home Assistant select); no ':'" }),
          url: Type.String({
            pattern: '^https?://[^\\s]+$',
            maxLength: 2000,
            description: 'the stream: Icecast/SHOUTcast v2 (http/https), an .m3u or .pls playlist naming one, or an HLS playlist',
          }),
        },
        { additionalProperties: false },
      ),
      {
        maxItems: 64,
        default: [],
        description: "internet radio stations the owner may switch to by name, beside 'sources'; the stream's titles (ICY StreamTitle) become now-playing",
      },
    ),
    servers: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: '^[^:]{1,64}$', description: 'how search results name where a song lives' }),
          url: Type.String({
            pattern: '^https?://[^\\s]+$',
            maxLength: 2000,
            description: "the server's address, e.g. http://192.168.1.10:4533 (Navidrome) or http://nas:4747 (Gonic)",
          }),
          username: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'with a password (not with an API key)' })),
          password: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'better: passwordFile or passwordEnv' })),
          passwordFile: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'a file holding the password (one line)' })),
          passwordEnv: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 200, description: 'an environment variable holding the password' })),
          apiKey: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 2000,
              description: "an OpenSubsonic API key (servers with the 'apiKeyAuthentication' extension), instead of username and password",
            }),
          ),
          apiKeyFile: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'a file holding the API key (one line)' })),
          apiKeyEnv: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 200, description: 'an environment variable holding the API key' })),
          timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 10000, description: 'a search waits this long for the server (default 1000)' })),
        },
        { additionalProperties: false },
      ),
      {
        maxItems: 8,
        default: [],
        description:
          "Subsonic/OpenSubsonic music servers (Navidrome, Gonic, Airsonic…) searched beside the box's own library; each: username with exactly one of password, passwordFile, passwordEnv, or exactly one of apiKey, apiKeyFile, apiKeyEnv (no username)",
      },
    ),
    capture: Section({
      silenceSeconds: Type.Integer({ minimum: 0, maximum: 86400, default: 30, description: 'a capture silent this long is reported on event/silence (0: never)' }),
      silenceThreshold: Type.Integer({ minimum: 1, maximum: 32767, default: 64, description: 'peak sample level below which the input counts as silent (64 is about -54 dBFS)' }),
      silenceFallback: OneOf(['none', 'library'], {
        default: 'none',
        description: 'library: while the capture is silent the box plays its library, and returns to the capture when sound comes back',
      }),
    }),
    share: Section({
      policy: OneOf(['button', 'approve', 'open'], { default: 'button' }),
      windowSeconds: Type.Integer({ minimum: 10, maximum: 3600, default: 120 }),
      maxListeners: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
      rememberDays: Type.Integer({
        minimum: 0,
        maximum: 3650,
        default: 30,
        description: 'policy button: a listener the owner let in is let in again without asking (by its listener key) until this many days after its last join; 0 remembers nobody',
      }),
      rememberMax: Type.Integer({ minimum: 1, maximum: 10000, default: 200, description: 'listeners remembered at most (the least recently seen make room)' }),
    }),
    owner: Section({
      username: Type.String({ minLength: 1, maxLength: 64, default: 'owner' }),
      passwordHash: Nullable(Type.String({ pattern: '^scrypt\\$' }), { default: null }),
    }),
    permissions: Section({
      request: Permission('listeners'),
      control: Permission('owner'),
      volume: Permission('owner'),
      source: Permission('owner'),
    }),
    limits: Section(
      {
        connectionsPerAddress: Type.Integer({
          minimum: 1,
          maximum: 100000,
          default: 16,
          description: 'open connections one address may hold on each port (MQTT, HTTP/WebSocket, stream)',
        }),
        connections: Type.Integer({
          minimum: 8,
          maximum: 100000,
          default: 256,
          description: 'open connections on each port in total; the owner always finds an MQTT slot (ownerReserve)',
        }),
        ownerReserve: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: "MQTT connections kept free for the owner's login" }),
        mqttPacketBytes: Type.Integer({
          minimum: 1024,
          maximum: 1048576,
          default: 32768,
          description: 'largest MQTT packet a client may send; a larger one is refused before it is buffered',
        }),
        topicLevels: Type.Integer({ minimum: 2, maximum: 64, default: 8, description: 'deepest topic a client may publish or subscribe to' }),
        subscriptionsPerClient: Type.Integer({ minimum: 1, maximum: 1000, default: 32, description: 'subscriptions one MQTT connection may hold' }),
        requestsPerMinutePerAddress: Type.Integer({
          minimum: 1,
          maximum: 1000000,
          default: 600,
          description: 'requests per minute from one address, all its connections together',
        }),
        pendingJoinsPerAddress: Type.Integer({ minimum: 1, maximum: 1000, default: 2, description: 'joins one address may have waiting for approval' }),
        unconnectedJoinSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 10, description: 'an accepted join whose stream does not connect within this is released' }),
        helloTimeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 3000, description: 'a stream connection must send its hello within this' }),
        loginBackoffMaxSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 60, description: 'the longest an address waits after failed logins (doubling from 1 s)' }),
        keepaliveMaxSeconds: Type.Integer({
          minimum: 5,
          maximum: 3600,
          default: 60,
          description: 'the longest MQTT keepalive served: a client silent for 1.5 x its keepalive (at most this) is disconnected; a keepalive of 0 is served as this',
        }),
      },
      { description: 'what one client or address may take from the box; a refusal is a clear error or a clean close, counted in telemetry' },
    ),
    rateLimit: Section({
      perMinute: Type.Integer({ minimum: 1, maximum: 100000, default: 60 }),
      burst: Type.Integer({ minimum: 1, maximum: 10000, default: 20 }),
    }),
    wifi: Section({
      mode: OneOf(['auto', 'p2p', 'ap', 'none'], {
        default: 'auto',
        description:
          "p2p: the box is a Wi-Fi Direct group owner through wpa_supplicant; ap: a WPA2 access point through hostapd (SSID deviceName, passphrase required); none: it is already on a network; auto: p2p when wpa_supplicant's control socket for the interface exists (never on simulated hardware)",
      }),
      interface: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,15}$', default: 'wlan0' }),
      ctrlDir: Type.String({ minLength: 1, default: '/run/wpa_supplicant' }),
      deviceName: Nullable(Type.String({ maxLength: 32 }), { default: null, description: 'Wi-Fi Direct device name (default: the box name)' }),
      passphrase: Nullable(Type.String({ minLength: 8, maxLength: 63 }), { default: null, description: 'group passphrase (default: wpa_supplicant picks one)' }),
      freq: OneOf([2412, 2437, 2462, 5180, 5200, 5220, 5240, 5745, 5765, 5785, 5805], {
        type: 'integer',
        default: 2437,
        description: 'group channel (MHz): 2.4 GHz reaches further, 5 GHz is quieter',
      }),
      dhcp: Type.Boolean({ default: true, description: 'serve DHCP on the group interface with dnsmasq' }),
    }),
    loudness: Section({
      enabled: Type.Boolean({ default: true, description: 'even loudness: each track measured once (EBU R128, ffmpeg ebur128) and played at the gain to the target' }),
      targetLufs: Type.Number({ minimum: -40, maximum: -5, default: -17, description: 'integrated loudness every track is brought to, LUFS' }),
      truePeakDbtp: Type.Number({ minimum: -12, maximum: 0, default: -1, description: "the gain never lifts a track's true peak above this, dBTP" }),
      interstitialTargetLufs: Type.Unsafe<number | null>({
        type: ['number', 'null'],
        minimum: -40,
        maximum: -5,
        default: null,
        description: "the target of a programme's jingles, ads and news (library files), LUFS; null: targetLufs",
      }),
    }),
    announce: Section({
      duckDb: Type.Integer({ minimum: 0, maximum: 40, default: 12, description: 'how far the music ducks under an announcement, dB' }),
      rampMs: Type.Integer({ minimum: 20, maximum: 5000, default: 300, description: 'how long the music takes to duck and to come back' }),
      chime: Type.Boolean({ default: true, description: 'a two-tone chime before each announcement' }),
      voice: Type.String({ pattern: '^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$', default: 'en', description: 'espeak-ng voice for spoken text' }),
      folders: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'folders announcement files may come from, besides the library' }),
      maxQueue: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'announcements that may wait at once' }),
    }),
    playLog: Section({
      enabled: Type.Boolean({ default: true, description: 'write every item that played to <stateDir>/playlog/<day>.jsonl (README "Play log")' }),
      keepDays: Type.Integer({ minimum: 1, maximum: 3660, default: 400, description: 'days of play log kept' }),
    }),
    telemetry: Section({
      intervalSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 30, description: 'how often the telemetry topic is published (0: never)' }),
    }),
    homeassistant: Section({
      enabled: Type.Boolean({ default: true, description: 'Home Assistant MQTT discovery (volume, source, buttons, button triggers)' }),
    }),
    mdns: Section({ enabled: Type.Boolean({ default: true }) }),
    hardware: Section({
      sim: Type.Boolean({ default: false }),
      keyboard: Type.Boolean({ default: true }),
      board: OneOf(['auto', 'pi3', 'pi4', 'pi5', 'zero2w'], { default: 'auto', description: 'pin map from config/boards/<board>.json; auto reads /proc/device-tree/model' }),
      buttons: Section({
        backend: OneOf(['auto', 'gpiod', 'onoff', 'sim'], {
          default: 'auto',
          description: 'auto: sim when simulated, else gpiod when gpiomon and /dev/gpiochip0 exist, else onoff when /sys/class/gpio exists',
        }),
        map: Section({ share: GpioLine, playPause: GpioLine, next: GpioLine, volumeUp: GpioLine, volumeDown: GpioLine }),
      }),
      leds: Section({
        map: Section({ share: GpioLine, status: GpioLine }),
      }),
    }),
    programme: Programme,
    stateDir: Type.String({ minLength: 1, default: '.run/state' }),
    log: Section({ level: OneOf(['debug', 'info', 'warn', 'error'], { default: 'info' }) }),
  },
  {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://nearcast.local/config.schema.json',
    title: 'nearcast box configuration',
    description:
      'Generated from firmware/config/config-schema.ts by `make config-schema`: edit that file, not this one. Every key can also be set by environment (NEARCAST_<PATH>, levels joined by __) and most by command-line flags.',
    additionalProperties: false,
  },
);

/** A configuration after loading: every property with a default is present. */
export type LoadedConfig = Static<typeof ConfigSchema>;

// ---- config/schema.json ----

const KEY_ORDER = [
  '$schema',
  '$id',
  'title',
  'description',
  'type',
  'enum',
  'items',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'additionalProperties',
  'default',
  'properties',
];

/** The schema a configuration file is checked against: no `required` (defaults fill in), keys in a reading order. */
export function fileSchema(schema: unknown = ConfigSchema): unknown {
  if (Array.isArray(schema)) return schema.map((item) => fileSchema(item));
  if (typeof schema !== 'object' || schema === null) return schema;
  const rank = (key: string) => (KEY_ORDER.includes(key) ? KEY_ORDER.indexOf(key) : KEY_ORDER.length);
  // Object.entries leaves out TypeBox's symbol-keyed bookkeeping
  const entries = Object.entries(schema)
    .filter(([key]) => key !== 'required')
    .sort(([a], [b]) => rank(a) - rank(b));
  // `properties` maps names to schemas: its own keys are names, kept in declaration order
  return Object.fromEntries(
    entries.map(([key, value]) => [
      key,
      key === 'properties' && typeof value === 'object' && value !== null
        ? Object.fromEntries(Object.entries(value).map(([name, property]) => [name, fileSchema(property)]))
        : key === 'default' || key === 'enum'
          ? value
          : fileSchema(value),
    ]),
  );
}

/** The text of config/schema.json. */
export function fileSchemaText(): string {
  return JSON.stringify(fileSchema(), null, 2) + '\n';
}

export const SCHEMA_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config/schema.json');

// `make config-schema` (node --import tsx firmware/config/config-schema.ts)
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(SCHEMA_FILE, fileSchemaText());
  process.stdout.write(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}\n`);
}
