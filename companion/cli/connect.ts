// Which box, and as whom: `--box`, else a box on this machine (what `make run`
// starts: loopback only, no mDNS), else the first one mDNS finds; then an MQTT
// connection as a guest or the owner (`--user`); or, for a one-shot command with
// neither, the relay of a `nearcast join` running on this machine (listener-session.ts).
// A failed connection is explained by probing the port.

import { BoxClient } from '../client/box-client.ts';
import { DEFAULT_MQTT_PORT, discoverBoxes, parseBoxAddress, type BoxAddress } from '../client/discovery.ts';
import { explainProbe, probePort } from '../client/port-probe.ts';
import { resolveCredentials, terminalPrompt, type CredentialOptions } from './credentials.ts';
import { findListenerNote, type ListenerNote } from './listener-session.ts';

export interface CommonOptions extends CredentialOptions {
  box?: string;
}

const LOCAL_HOST = '127.0.0.1';

export async function resolveBox(spec: string | undefined): Promise<BoxAddress> {
  if (spec) return parseBoxAddress(spec);
  if ((await probePort(LOCAL_HOST, DEFAULT_MQTT_PORT, 1000)).kind === 'mqtt') return { host: LOCAL_HOST, mqttPort: DEFAULT_MQTT_PORT };
  const boxes = await discoverBoxes(3000);
  const first = boxes[0];
  if (!first) throw new Error(`no nearcast box on this machine (${LOCAL_HOST}:${DEFAULT_MQTT_PORT}) or found by mDNS on this network; pass --box HOST[:PORT]`);
  if (boxes.length > 1) console.error(`found ${boxes.length} boxes; using ${first.name ?? first.host} (pick one with --box)`);
  return first;
}

export const mqttUrl = (box: BoxAddress) => `mqtt://${box.host.includes(':') ? `[${box.host}]` : box.host}:${box.mqttPort}`;

/** The relay of a `nearcast join` running against this box on this machine, unless the command logs in (`--user`). */
export async function runningListener(o: CommonOptions): Promise<ListenerNote | null> {
  if (o.user ?? process.env.NEARCAST_USER) return null;
  const box = await resolveBox(o.box);
  return findListenerNote(box.host, box.mqttPort);
}

export interface BoxConnection {
  client: BoxClient;
  box: BoxAddress;
  /** another connection to the same box as the same user (a join that lost its box joins again with it): this client id, or a fresh one */
  reconnect(clientId?: string): Promise<BoxClient>;
}

/** `join: true`: the connection does not reconnect by itself (`nearcast join` rejoins on its own terms) */
export async function connectToBox(o: CommonOptions, opts: { join?: boolean } = {}): Promise<BoxConnection> {
  const box = await resolveBox(o.box);
  const creds = await resolveCredentials(o, { env: process.env, prompt: terminalPrompt(), warn: (l) => console.error(l) });
  const reconnect = opts.join ? false : undefined;
  try {
    const client = await BoxClient.connect({ url: mqttUrl(box), boxId: box.boxId, username: creds.username, password: creds.password, reconnect });
    return {
      client,
      box,
      reconnect: (clientId) => BoxClient.connect({ url: mqttUrl(box), boxId: client.boxId, clientId, username: creds.username, password: creds.password, reconnect }),
    };
  } catch (e) {
    const message = (e as Error).message;
    if (/not authorized|bad user ?name or password/i.test(message)) {
      throw new Error(`the box refused the login of '${creds.username}': wrong username or password`);
    }
    const why = explainProbe(box.host, box.mqttPort, await probePort(box.host, box.mqttPort));
    throw new Error(why ?? message);
  }
}
