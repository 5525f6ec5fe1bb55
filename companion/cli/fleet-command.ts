// `nearcast fleet`: the boxes uplinked to one central MQTT broker (README.md
// "Fleet"). `list` reads every box's retained `availability` and `state` under the
// prefix; `status BOX` asks one box, as its `status` request over the uplink. What
// a login may see and ask is the broker's access control (config/mosquitto-acl.example):
// a shop's login lists that shop's boxes only.

import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import mqtt, { type MqttClient } from 'mqtt';
import type { Reply } from '../../firmware/wire/requests.ts';
import { resolveCredentials, terminalPrompt, type CredentialOptions } from './credentials.ts';

export interface FleetBox {
  id: string;
  /** null: the box published state but no availability yet */
  online: boolean | null;
  version: string | null;
  state: string | null;
  nowPlaying: string | null;
  listeners: number | null;
  volume: number | null;
}

interface FleetOptions {
  broker: string;
  prefix: string;
  timeout: number;
}

const PREFIX = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const BOX_ID = /^[a-zA-Z0-9_-]{1,64}$/;

async function connectFleet(o: FleetOptions, credentials: CredentialOptions): Promise<MqttClient> {
  const creds = await resolveCredentials(credentials, { env: process.env, prompt: terminalPrompt(), warn: (line) => console.error(line) });
  try {
    return await mqtt.connectAsync(o.broker, {
      protocolVersion: 5,
      clientId: `nearcast-fleet-${randomBytes(4).toString('hex')}`,
      reconnectPeriod: 0,
      connectTimeout: o.timeout * 1000,
      ...(creds.username ? { username: creds.username } : {}),
      ...(creds.password ? { password: creds.password } : {}),
    });
  } catch (e) {
    const message = (e as Error).message;
    if (/not authori[sz]ed|bad user ?name or password/i.test(message)) throw new Error(`the broker refused the login of '${creds.username ?? '(none)'}': ${message}`);
    throw new Error(`cannot reach the fleet broker ${o.broker}: ${message}`);
  }
}

/** The parts of a box's `status` reply that `fleet status` prints (README "MQTT topics"). */
interface StatusData {
  box?: { name: string; id: string };
  state: string;
  track: { title: string; artist: string } | null;
  volume: number;
  source: string;
  sharing?: { open: boolean };
  listeners: number;
  pending: number;
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Every box under the prefix, from the retained topics the broker holds. */
export async function listFleet(client: MqttClient, prefix: string): Promise<FleetBox[]> {
  const boxes = new Map<string, FleetBox>();
  const box = (id: string) => {
    const known = boxes.get(id);
    if (known) return known;
    const entry: FleetBox = { id, online: null, version: null, state: null, nowPlaying: null, listeners: null, volume: null };
    boxes.set(id, entry);
    return entry;
  };
  const levels = prefix.split('/').length;
  const onMessage = (topic: string, payload: Buffer) => {
    const parts = topic.split('/');
    const id = parts[levels];
    const leaf = parts[levels + 1];
    if (parts.length !== levels + 2 || !id || !BOX_ID.test(id)) return;
    const json = parseJson(payload.toString());
    if (!json) return;
    const entry = box(id);
    if (leaf === 'availability') {
      entry.online = json.state === 'online';
      if (typeof json.version === 'string') entry.version = json.version;
    } else if (leaf === 'state') {
      entry.state = typeof json.state === 'string' ? json.state : null;
      const track = json.track as { title?: string; artist?: string } | null | undefined;
      entry.nowPlaying = track?.title ? `${track.title}${track.artist ? ` — ${track.artist}` : ''}` : null;
      entry.listeners = typeof json.listeners === 'number' ? json.listeners : null;
      entry.volume = typeof json.volume === 'number' ? json.volume : null;
    }
  };
  client.on('message', onMessage);
  // QoS 0: retained messages follow their SUBACK at once, with no in-flight window
  await client.subscribeAsync([`${prefix}/+/availability`, `${prefix}/+/state`], { qos: 0 });
  // a broker sends a subscription's retained messages before it handles the next packet on the
  // connection, so once a second SUBACK is here every retained message of the first has arrived
  await client.subscribeAsync(`${prefix}/fleet-sync/${randomBytes(4).toString('hex')}`, { qos: 0 });
  client.off('message', onMessage);
  await client.unsubscribeAsync([`${prefix}/+/availability`, `${prefix}/+/state`]);
  return [...boxes.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** One request to one box over the fleet broker, and its reply. */
export async function askBox(client: MqttClient, prefix: string, boxId: string, op: string, body: object, timeoutSeconds: number): Promise<Reply> {
  const clientId = client.options.clientId ?? 'nearcast-fleet';
  const transaction = randomBytes(6).toString('hex');
  const responses = `${prefix}/${boxId}/client/${clientId}/response/${op}`;
  await client.subscribeAsync(responses, { qos: 1 });
  const reply = new Promise<Reply>((resolve, reject) => {
    const onMessage = (topic: string, payload: Buffer) => {
      const json = topic === responses ? parseJson(payload.toString()) : null;
      if (!json || json.transaction !== transaction || (json.status !== 'ok' && json.status !== 'error')) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ status: json.status, data: json.data, ...(typeof json.error === 'string' ? { error: json.error } : {}) });
    };
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no reply within ${timeoutSeconds} s: is it online under ${prefix}? (nearcast fleet list)`));
    }, timeoutSeconds * 1000);
    client.on('message', onMessage);
  });
  await client.publishAsync(`${prefix}/${boxId}/client/${clientId}/request/${op}`, JSON.stringify({ ...body, transaction }), { qos: 1 });
  return reply;
}

const dash = (value: unknown) => (value === null || value === undefined ? '-' : String(value));

function table(boxes: FleetBox[]): string {
  const rows = [
    ['BOX', 'ONLINE', 'VERSION', 'STATE', 'LISTENERS', 'VOLUME', 'NOW PLAYING'],
    ...boxes.map((b) => [b.id, b.online === null ? '?' : b.online ? 'yes' : 'no', dash(b.version), dash(b.state), dash(b.listeners), dash(b.volume), dash(b.nowPlaying)]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}

/**
 * One request to a box, or to every online box (`all`), at once; prints one line per box,
 * `<box>  ok  <what>` or `<box>  error  <why>`, and returns how many did not say ok.
 */
async function fanOut(client: MqttClient, o: FleetOptions, target: string, op: string, body: object, done: (data: unknown) => string): Promise<number> {
  const ids = target === 'all' ? (await listFleet(client, o.prefix)).filter((b) => b.online).map((b) => b.id) : [target];
  if (ids.length === 0) throw new Error(`no online box under ${o.prefix}/ (nearcast fleet list)`);
  const results = await Promise.allSettled(ids.map((id) => askBox(client, o.prefix, id, op, body, o.timeout)));
  const width = Math.max(...ids.map((id) => id.length));
  let failed = 0;
  results.forEach((result, i) => {
    const id = (ids[i] ?? '').padEnd(width);
    if (result.status === 'fulfilled' && result.value.status === 'ok') console.log(`${id}  ok     ${done(result.value.data)}`);
    else {
      failed++;
      console.log(`${id}  error  ${result.status === 'rejected' ? (result.reason as Error).message : (result.value.error ?? result.value.status)}`);
    }
  });
  return failed;
}

function checkTarget(target: string): void {
  if (target !== 'all' && !BOX_ID.test(target)) throw new InvalidArgumentError(`box id '${target}' must be 1-64 letters, digits, _ or - (or all)`);
}

/** `nearcast fleet ...`; `credentials` reads the program's --user/--password when the command runs. */
export function fleetCommand(credentials: () => CredentialOptions): Command {
  const fleet = new Command('fleet')
    .description('boxes uplinked to a central MQTT broker (see README "Fleet")')
    .option('--broker <url>', 'the central broker: mqtt://, mqtts://, ws://, wss:// (default NEARCAST_FLEET_BROKER)')
    .option('--prefix <prefix>', "the boxes' mqtt.uplink.prefix (a shop: nearcast/shop-a)", 'nearcast')
    .option(
      '--timeout <s>',
      'how long to wait for the broker and the boxes',
      (v: string) => {
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < 1 || n > 600) throw new InvalidArgumentError('--timeout must be a whole number of seconds from 1 to 600');
        return n;
      },
      10,
    );
  const options = (): FleetOptions => {
    const o = fleet.opts<{ broker?: string; prefix: string; timeout: number }>();
    const broker = o.broker ?? process.env.NEARCAST_FLEET_BROKER;
    if (!broker) throw new Error('which broker? pass --broker mqtt://HOST:PORT or set NEARCAST_FLEET_BROKER');
    if (!/^(mqtt|mqtts|ws|wss):\/\/\S+$/.test(broker)) throw new Error(`--broker '${broker}' must be an mqtt://, mqtts://, ws:// or wss:// url`);
    if (!PREFIX.test(o.prefix)) throw new Error(`--prefix '${o.prefix}' must be topic levels of letters, digits and _ . - (no wildcards)`);
    return { broker, prefix: o.prefix, timeout: o.timeout };
  };
  const withClient = async (work: (client: MqttClient, o: FleetOptions) => Promise<void>) => {
    const o = options();
    const client = await connectFleet(o, credentials());
    try {
      await work(client, o);
    } finally {
      await client.endAsync();
    }
  };

  fleet
    .command('list')
    .description('every box under the prefix: online, version, what it plays, listeners')
    .option('--json', 'one JSON array')
    .action((cmd: { json?: boolean }) =>
      withClient(async (client, o) => {
        const boxes = await listFleet(client, o.prefix);
        if (cmd.json) return console.log(JSON.stringify(boxes));
        console.log(boxes.length ? table(boxes) : `no boxes under ${o.prefix}/ (or this login may not read them)`);
      }),
    );

  fleet
    .command('status <box>')
    .description("one box's status, asked over the broker")
    .option('--json', 'raw JSON')
    .action((boxId: string, cmd: { json?: boolean }) => {
      if (!BOX_ID.test(boxId)) throw new InvalidArgumentError(`box id '${boxId}' must be 1-64 letters, digits, _ or -`);
      return withClient(async (client, o) => {
        const reply = await askBox(client, o.prefix, boxId, 'status', {}, o.timeout).catch((e: unknown) => {
          throw new Error(`box '${boxId}': ${(e as Error).message}`);
        });
        if (reply.status !== 'ok') throw new Error(`box '${boxId}': ${reply.error ?? reply.status}`);
        const d = reply.data as StatusData;
        if (cmd.json) {
          console.log(JSON.stringify(d));
          return;
        }
        console.log(`${d.box?.name} (${d.box?.id}): ${d.state}${d.track ? ` — ${d.track.title}${d.track.artist ? ` — ${d.track.artist}` : ''}` : ''}`);
        console.log(`volume ${d.volume} · source ${d.source} · share window ${d.sharing?.open ? 'open' : 'closed'} · ${d.listeners} listener(s), ${d.pending} pending`);
      });
    });
  fleet
    .command('volume <box> <level>')
    .description('set the volume of one box, or of every online box (all); each box answers')
    .action((target: string, level: string) => {
      checkTarget(target);
      if (!/^\d{1,3}$/.test(level) || Number(level) > 100) throw new InvalidArgumentError(`volume '${level}' must be 0-100`);
      return withClient(async (client, o) => {
        const failed = await fanOut(client, o, target, 'volume', { volume: Number(level) }, (data) => `volume ${(data as { volume?: number }).volume}`);
        if (failed > 0) process.exitCode = 1;
      });
    });

  fleet
    .command('announce <box> <text...>')
    .description('speak a text on one box, or on every online box (all), over its music')
    .action((target: string, words: string[]) => {
      checkTarget(target);
      const text = words.join(' ');
      if (text.length > 500) throw new InvalidArgumentError(`the text has ${text.length} characters; at most 500`);
      return withClient(async (client, o) => {
        const failed = await fanOut(client, o, target, 'announce', { text }, () => 'announced');
        if (failed > 0) process.exitCode = 1;
      });
    });
  return fleet;
}
