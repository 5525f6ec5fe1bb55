// The fleet's side of the central broker (README.md "Fleet"): connecting with a
// login, listing the boxes from their retained topics, and asking boxes a request
// over their uplink, one reply (or a timeout) per box. What a login may see and
// ask is the broker's access control (config/mosquitto-acl.example).

import { randomBytes } from 'node:crypto';
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

export interface FleetOptions {
  broker: string;
  prefix: string;
  timeout: number;
}

export const PREFIX = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
export const BOX_ID = /^[a-zA-Z0-9_-]{1,64}$/;

export async function connectFleet(o: FleetOptions, credentials: CredentialOptions): Promise<MqttClient> {
  const creds = await resolveCredentials(credentials, { env: process.env, prompt: terminalPrompt(), warn: (line) => console.error(line) });
  let client: MqttClient;
  try {
    client = await mqtt.connectAsync(o.broker, {
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
  // askBox listens for each reply it waits for: a command to a whole fleet waits for hundreds at once
  client.setMaxListeners(0);
  return client;
}

/** The parts of a box's `status` reply that `fleet status` prints (README "MQTT topics"). */
export interface StatusData {
  box?: { name: string; id: string };
  state: string;
  track: { title: string; artist: string } | null;
  volume: number;
  source: string;
  sharing?: { open: boolean };
  listeners: number;
  pending: number;
}

export function parseJson(text: string): Record<string, unknown> | null {
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

/**
 * Subscribes to every box's replies to `op` for this connection, once: then askBox with
 * `subscribed` sends at once instead of waiting for a subscription per box (a fan-out
 * to hundreds of boxes).
 */
export async function subscribeReplies(client: MqttClient, prefix: string, op: string): Promise<void> {
  await client.subscribeAsync(`${prefix}/+/client/${client.options.clientId ?? 'nearcast-fleet'}/response/${op}`, { qos: 1 });
}

/** One request to one box over the fleet broker, and its reply. */
export async function askBox(client: MqttClient, prefix: string, boxId: string, op: string, body: object, timeoutSeconds: number, subscribed = false): Promise<Reply> {
  const clientId = client.options.clientId ?? 'nearcast-fleet';
  const transaction = randomBytes(6).toString('hex');
  const responses = `${prefix}/${boxId}/client/${clientId}/response/${op}`;
  if (!subscribed) await client.subscribeAsync(responses, { qos: 1 });
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

/** One box's answer: its reply, or why there was none. */
export type BoxAnswer = { box: string; reply: Reply } | { box: string; error: string };

/** The same request to each box at once; every box gets one answer, in the order given. */
export async function askEach(client: MqttClient, prefix: string, ids: string[], op: string, body: object, timeoutSeconds: number): Promise<BoxAnswer[]> {
  await subscribeReplies(client, prefix, op);
  const results = await Promise.allSettled(ids.map((id) => askBox(client, prefix, id, op, body, timeoutSeconds, true)));
  return results.map((result, i) => {
    const box = ids[i] ?? '';
    return result.status === 'fulfilled' ? { box, reply: result.value } : { box, error: (result.reason as Error).message };
  });
}

/**
 * The boxes a command goes to: `all` (every online box), a pattern with `*`
 * (the online boxes whose id matches, e.g. `berlin-*`), or one id or several
 * separated by commas (asked whether online or not: one that is not says so by
 * not answering).
 */
export async function resolveTargets(client: MqttClient, prefix: string, target: string): Promise<string[]> {
  if (target === 'all' || target.includes('*')) {
    // a pattern holds only id characters and * (targetProblem): no other character is special in it
    const pattern = new RegExp(`^${target.replace(/\*/g, '.*').replace(/^all$/, '.*')}$`);
    const ids = (await listFleet(client, prefix)).filter((b) => b.online && pattern.test(b.id)).map((b) => b.id);
    if (ids.length === 0) throw new Error(`no online box under ${prefix}/ matches '${target}' (nearcast fleet list)`);
    return ids;
  }
  return [...new Set(target.split(','))];
}

/** a command-line target: `all`, a pattern of id characters and `*`, or ids separated by commas; null when valid, else why not */
export function targetProblem(target: string): string | null {
  if (target === 'all') return null;
  if (target.includes('*')) return /^[a-zA-Z0-9_*-]{1,64}$/.test(target) ? null : `pattern '${target}' may hold only letters, digits, _, - and *`;
  const bad = target.split(',').find((id) => !BOX_ID.test(id));
  return bad === undefined ? null : `box id '${bad}' must be 1-64 letters, digits, _ or - (or all, a pattern with *, or ids separated by commas)`;
}
