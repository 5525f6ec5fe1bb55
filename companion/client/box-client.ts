// The companion's control-plane client: MQTT request/response against a box,
// with transactions, timeouts and the two-step answer of a pending join.

import mqtt, { type MqttClient } from 'mqtt';
import { randomBytes } from 'node:crypto';
import type { Reply } from '../../firmware/wire/requests.ts';
import { boxTopics, TOPIC_ROOT, type BoxTopics, type Op } from '../../firmware/wire/topics.ts';
import { groupOf } from '../../firmware/util/checked-index.ts';

export interface BoxClientOptions {
  url: string; // mqtt://host:port or ws://host:port/mqtt
  boxId?: string; // found from retained availability when omitted
  clientId?: string;
  username?: string;
  password?: string;
  connectTimeoutMs?: number;
  /**
   * false: no automatic reconnection; when the connection closes, `lost` resolves and
   * requests in flight fail at once (`nearcast join` rejoins by itself). Default true.
   */
  reconnect?: boolean;
}

interface Waiter {
  resolve(r: Reply): void;
  reject(e: Error): void;
  onPending?: (r: Reply) => void;
  timer: NodeJS.Timeout;
}

/** how long a clean MQTT disconnect may take before the socket is dropped */
const CLOSE_WITHIN_MS = 2000;
/** MQTT keepalive of the companions (s) */
export const KEEPALIVE_SECONDS = 10;

export class BoxClient {
  private waiters = new Map<string, Waiter>();
  private seq = 0;
  private stateHandlers: Array<(topic: string, payload: unknown) => void> = [];
  /** why the connection is gone for good (reconnect: false), else null */
  private gone: string | null = null;

  /**
   * The id whose topics this client uses: a client id `me~x` shares the topics of
   * `me` (the box's ACL allows it), so a one-shot command can act for a running join.
   */
  readonly identity: string;

  /** resolves with the reason when a client made with `reconnect: false` lost its connection */
  readonly lost: Promise<string>;

  private constructor(
    readonly mqtt: MqttClient,
    readonly clientId: string,
    readonly boxId: string,
    readonly topics: BoxTopics,
    reconnect: boolean,
  ) {
    const tilde = clientId.indexOf('~');
    this.identity = tilde < 0 ? clientId : clientId.slice(0, tilde);
    mqtt.on('message', (topic, payload) => this.onMessage(topic, payload));
    let lastError = '';
    mqtt.on('error', (e) => {
      lastError = e.message;
    });
    this.lost = new Promise((resolve) => {
      if (reconnect) return;
      mqtt.once('close', () => {
        const why = `the MQTT connection to the box closed${lastError ? ` (${lastError})` : ''}`;
        this.gone = why;
        this.failWaiters(new Error(why));
        resolve(why);
      });
    });
  }

  static async connect(o: BoxClientOptions): Promise<BoxClient> {
    const clientId = o.clientId ?? `nc-${randomBytes(5).toString('hex')}`;
    const reconnect = o.reconnect ?? true;
    const client = mqtt.connect(o.url, {
      clientId,
      username: o.username,
      password: o.password,
      protocolVersion: 4,
      connectTimeout: o.connectTimeoutMs ?? 5000,
      // the box drops a connection silent for 1.5 x this: a companion whose network vanished
      // frees its place within 15 s (README.md "Reliability")
      keepalive: KEEPALIVE_SECONDS,
      reconnectPeriod: reconnect ? 1000 : 0,
      clean: true,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no MQTT answer from ${o.url} within ${(o.connectTimeoutMs ?? 5000) / 1000} s`)), o.connectTimeoutMs ?? 5000);
        client.once('connect', () => {
          clearTimeout(timer);
          resolve();
        });
        client.once('error', (e) => {
          clearTimeout(timer);
          reject(new Error(`MQTT connection to ${o.url} failed: ${e.message}`));
        });
      });
      const boxId = o.boxId ?? (await findBoxId(client, o.connectTimeoutMs ?? 3000));
      const bc = new BoxClient(client, clientId, boxId, boxTopics(boxId), reconnect);
      await client.subscribeAsync(bc.topics.myResponses(bc.identity));
      return bc;
    } catch (e) {
      client.end(true);
      throw e;
    }
  }

  /** Sends a request and resolves with the final reply (ok or error). */
  request<T = unknown>(op: Op | string, body: object = {}, opts: { timeoutMs?: number; onPending?: (r: Reply) => void } = {}): Promise<Reply<T>> {
    const transaction = `${this.clientId}-${++this.seq}`;
    if (this.gone) return Promise.reject(new Error(this.gone));
    return new Promise((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? 5000;
      const timer = setTimeout(() => {
        this.waiters.delete(transaction);
        reject(new Error(`no reply to '${op}' within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiters.set(transaction, { resolve: resolve as (r: Reply) => void, reject, onPending: opts.onPending, timer });
      this.mqtt.publish(this.topics.request(this.identity, op), JSON.stringify({ ...body, transaction }), { qos: 1 });
    });
  }

  /** Follows the box's public topics (state, listeners, availability, events). */
  async watch(handler: (topic: string, payload: unknown) => void): Promise<void> {
    this.stateHandlers.push(handler);
    const p = this.topics.prefix;
    await this.mqtt.subscribeAsync([p + 'state', p + 'listeners', p + 'availability', p + 'event/#']);
  }

  private onMessage(topic: string, payload: Buffer): void {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (topic.startsWith(this.topics.prefix + `client/${this.identity}/response/`)) {
      const r = json as Reply;
      const w = r && r.transaction !== undefined ? this.waiters.get(String(r.transaction)) : undefined;
      if (!w) return;
      if (r.status === 'pending') {
        clearTimeout(w.timer); // a pending join may wait for the owner for a long time
        w.onPending?.(r);
        return;
      }
      clearTimeout(w.timer);
      this.waiters.delete(String(r.transaction));
      w.resolve(r);
      return;
    }
    for (const h of this.stateHandlers) h(topic, json);
  }

  private failWaiters(e: Error): void {
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(e);
    }
    this.waiters.clear();
  }

  /** Disconnects cleanly; over a network that vanished (the DISCONNECT is never answered) the socket is dropped after CLOSE_WITHIN_MS. */
  async close(): Promise<void> {
    this.failWaiters(new Error('client closed'));
    let timer: NodeJS.Timeout | undefined;
    const clean = this.mqtt.endAsync().then(
      () => true,
      () => true,
    );
    const late = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), CLOSE_WITHIN_MS);
    });
    const closed = await Promise.race([clean, late]);
    clearTimeout(timer);
    if (!closed) this.mqtt.stream?.destroy();
  }
}

/** The first box announcing itself online on this broker. */
async function findBoxId(client: MqttClient, timeoutMs: number): Promise<string> {
  const filter = `${TOPIC_ROOT}/+/availability`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error('no nearcast box announces itself on this broker'));
    }, timeoutMs);
    const onMsg = (topic: string, payload: Buffer) => {
      const m = /^nearcast\/([^/]+)\/availability$/.exec(topic);
      if (!m) return;
      try {
        if (JSON.parse(payload.toString()).state !== 'online') return;
      } catch {
        return;
      }
      cleanup();
      resolve(groupOf(m, 1));
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('message', onMsg);
      client.unsubscribe(filter);
    };
    client.on('message', onMsg);
    client.subscribe(filter);
  });
}
