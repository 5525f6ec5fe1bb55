// The box's own MQTT broker (aedes, MQTT 3.1.1) on TCP and on WebSocket, with
// the access rules of acl.ts, the owner login and the limits of the `limits`
// config section (README.md, "Security and limits").
//
// Identity: every accepted MQTT connection gets a Connection record (serial
// number, address, role) fixed when it logs in. Rights come from that record,
// never from the client id alone, so an owner who reconnects stays the owner
// even while its old session is being closed, and a reply is delivered to the
// one connection that asked (see sendTo), not to whoever holds the id later.

import { Aedes, type AedesPublishPacket, type AuthenticateError, type AuthErrorCode, type Client, type Subscription } from 'aedes';
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { verifyPasswordAsync } from '../config/password.ts';
import { ConnectionLimits, normalizeAddress, type Admission } from '../security/connection-limits.ts';
import { LoginGuard } from '../security/login-guard.ts';
import { Refusals } from '../security/refusals.ts';
import { identityOf, mayPublish, maySubscribe, topicMatches, validClientId } from './acl.ts';
import { guardMqttStream } from './packet-guard.ts';

export type Role = 'owner' | 'guest';

/** One logged-in MQTT connection. */
export interface Connection {
  readonly clientId: string;
  /** unique for the box's lifetime: a later connection with the same id has another serial */
  readonly serial: number;
  readonly address: string;
  readonly role: Role;
}

export interface BrokerLimits {
  connectionsPerAddress: number;
  connections: number;
  ownerReserve: number;
  mqttPacketBytes: number;
  topicLevels: number;
  subscriptionsPerClient: number;
  loginBackoffMaxSeconds: number;
  /** the longest MQTT keepalive a client may ask for; 0 (none) or more is served as this */
  keepaliveMaxSeconds: number;
}

export const DEFAULT_BROKER_LIMITS: BrokerLimits = {
  connectionsPerAddress: 16,
  connections: 256,
  ownerReserve: 4,
  mqttPacketBytes: 32 * 1024,
  topicLevels: 8,
  subscriptionsPerClient: 32,
  loginBackoffMaxSeconds: 60,
  keepaliveMaxSeconds: 60,
};

export interface BrokerStartOptions {
  host: string;
  mqttPort: number;
  boxId: string;
  owner: { username: string; passwordHash: string | null };
  limits?: Partial<BrokerLimits>;
  refusals?: Refusals;
  log?: (level: 'info' | 'warn', msg: string, extra?: object) => void;
}

type Handler = (topic: string, payload: Buffer, from: Connection | null) => void;

/** a connection still in its CONNECT handshake when this long after opening is closed */
const CONNECT_TIMEOUT_MS = 10_000;
/** a packet must arrive whole within this */
const PACKET_TIMEOUT_MS = 20_000;

/** a client's subscriptions by filter (aedes keeps them on the client; its types do not say so) */
const subscriptionsOf = (client: Client): Record<string, unknown> => (client as unknown as { subscriptions: Record<string, unknown> }).subscriptions;

export class EmbeddedBroker extends EventEmitter<{ clientConnected: [Connection]; clientDisconnected: [Connection] }> {
  private aedes: Aedes | null = null;
  private server: net.Server | null = null;
  private wss: WebSocketServer | null = null;
  private connections = new WeakMap<Client, Connection>();
  /** the transport each client arrived on: its address and its connection slot */
  private transports = new WeakMap<object, { address: string; admission: Admission }>();
  /** ids being logged in or connected, so two connections cannot race for one id */
  private claims = new Map<string, Client>();
  /** connected clients by id (as aedes registered them) */
  private registered = new Map<string, Client>();
  private handlers: Array<{ filter: string; handler: Handler }> = [];
  private serials = 0;
  private limits: BrokerLimits = DEFAULT_BROKER_LIMITS;
  private slots!: ConnectionLimits;
  refusals = new Refusals();
  mqttPort = 0;

  async start(o: BrokerStartOptions): Promise<void> {
    this.limits = { ...DEFAULT_BROKER_LIMITS, ...o.limits };
    const limits = this.limits;
    if (o.refusals) this.refusals = o.refusals;
    const refusals = this.refusals;
    this.slots = new ConnectionLimits({ perAddress: limits.connectionsPerAddress, total: limits.connections });
    const logins = new LoginGuard({
      username: o.owner.username,
      verify: (pw) => verifyPasswordAsync(pw, o.owner.passwordHash),
      maxBackoffMs: limits.loginBackoffMaxSeconds * 1000,
      refusals,
      log: (l, m, e) => o.log?.(l, m, e),
    });
    const refuse = (done: (e: AuthenticateError, ok: false) => void, returnCode: AuthErrorCode, message: string) => done(Object.assign(new Error(message), { returnCode }), false);
    const aedes = await Aedes.createBroker({
      id: `nearcast-${o.boxId}`,
      maxClientsIdLength: 64,
      connectTimeout: CONNECT_TIMEOUT_MS,
      drainTimeout: 10_000, // a client that stops reading is dropped instead of queueing for it
      // A client whose network vanished sends nothing more, and closes nothing: aedes drops a
      // connection silent for 1.5 x its keepalive, so a keepalive of 0 (never) or of hours would
      // hold a dead connection and its listener's rights that long. Such a keepalive is served
      // as the limit instead (README.md "Reliability": a vanished network).
      preConnect: (_client, packet, done) => {
        const asked = packet.keepalive ?? 0;
        if (asked <= 0 || asked > limits.keepaliveMaxSeconds) packet.keepalive = limits.keepaliveMaxSeconds;
        done(null, true);
      },
      authenticate: (client, username, password, done) => {
        const transport = this.transports.get(client.conn);
        const address = transport?.address ?? 'unknown';
        const bad = validClientId(client.id);
        if (bad) {
          refusals.count('mqtt_client_id');
          return refuse(done, 2, bad);
        }
        void (async () => {
          let role: Role = 'guest';
          if (username !== undefined && username !== '') {
            const verdict = await logins.check(address, client.id, username, password?.toString('utf8') ?? '');
            if (!verdict.ok) return refuse(done, verdict.busy ? 3 : 4, verdict.reason);
            role = 'owner';
          }
          if (client.closed) return refuse(done, 3, 'connection closed during login');
          // a `~` id shares another connection's replies: only for the logged-in owner
          if (client.id.includes('~') && role !== 'owner') {
            refusals.count('mqtt_client_id');
            o.log?.('info', 'refused a ~ client id', { clientId: client.id, address });
            return refuse(done, 2, `client id '${client.id}': a '~' id is only for the logged-in owner`);
          }
          const holder = this.claims.get(client.id);
          if (holder && holder !== client && !holder.closed && role !== 'owner') {
            refusals.count('mqtt_takeover');
            o.log?.('info', 'refused a connection taking over a connected client id', { clientId: client.id, address });
            return refuse(done, 2, `client id '${client.id}' is in use by a connected client`);
          }
          const guests = this.guestCount();
          if (role === 'guest' && guests >= limits.connections - limits.ownerReserve) {
            refusals.count('mqtt_connections');
            return refuse(done, 3, `the box has ${guests} guest connections, its limit`);
          }
          this.claims.set(client.id, client);
          this.connections.set(client, { clientId: client.id, serial: ++this.serials, address, role });
          transport?.admission.established();
          done(null, true);
        })().catch((e: Error) => refuse(done, 3, e.message));
      },
      authorizeSubscribe: (client, sub, done) => {
        const c = this.connections.get(client);
        const levels = sub.topic.split('/').length;
        const held = Object.keys(subscriptionsOf(client)).length;
        let why: string | null = null;
        if (levels > limits.topicLevels) {
          why = 'topic too deep';
          refusals.count('mqtt_topic_depth');
        } else if (held >= limits.subscriptionsPerClient && !(sub.topic in subscriptionsOf(client))) {
          why = 'too many subscriptions';
          refusals.count('mqtt_subscriptions');
        } else if (!c || !maySubscribe(client.id, sub.topic, c.role)) why = 'not allowed';
        if (!why) return done(null, sub);
        o.log?.('info', 'refused a subscription', { clientId: client.id, topic: sub.topic.slice(0, 200), why });
        done(null, null as unknown as Subscription); // refuses this one subscription (SUBACK 0x80); the client stays
      },
      authorizePublish: (client, packet, done) => {
        const c = client ? this.connections.get(client) : undefined;
        if (client && packet.topic.split('/').length > limits.topicLevels) {
          refusals.count('mqtt_topic_depth');
          return done(new Error('topic too deep'));
        }
        const why = mayPublish(client ? client.id : null, packet.topic, o.boxId, !!packet.retain, c?.role ?? 'guest');
        if (!why) return done(null);
        o.log?.('info', 'refused a publish', { clientId: client?.id, topic: packet.topic.slice(0, 200) });
        done(new Error(why)); // MQTT 3.1.1 has no per-message refusal: aedes disconnects the client
      },
    });
    this.aedes = aedes;
    aedes.on('client', (client: Client) => {
      const c = this.connections.get(client);
      if (!c) return;
      this.registered.set(client.id, client);
      this.emit('clientConnected', c);
    });
    aedes.on('clientDisconnect', (client: Client) => this.forget(client));
    aedes.on('keepaliveTimeout', (client: Client) => {
      const c = this.connections.get(client);
      o.log?.('info', 'MQTT connection silent past its keepalive: closed', { clientId: client.id, address: c?.address });
    });
    aedes.on('clientError', (client: Client) => this.forget(client));
    aedes.on('connectionError', (client: Client) => this.forget(client));
    aedes.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
      if (!client || packet.topic.startsWith('$SYS')) return;
      const from = this.connections.get(client) ?? null;
      for (const h of this.handlers) if (topicMatches(h.filter, packet.topic)) h.handler(packet.topic, packet.payload as Buffer, from);
    });
    const server = net.createServer((socket) => this.handle(socket, socket.remoteAddress, 'mqtt_connections'));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.mqttPort, o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.mqttPort = (server.address() as net.AddressInfo).port;
  }

  /** A new transport: take a connection slot, guard the packet sizes, hand it to aedes. */
  private handle(conn: Duplex, remoteAddress: string | undefined, kind: 'mqtt_connections' | 'ws_connections'): void {
    const aedes = this.aedes;
    if (!aedes) return void conn.destroy();
    conn.on('error', () => conn.destroy());
    const admission = this.slots.admit(remoteAddress, () => conn.destroy());
    if (typeof admission === 'string') {
      this.refusals.count(kind);
      return void conn.destroy();
    }
    conn.once('close', () => admission.release());
    const guarded = guardMqttStream(conn, {
      maxPacketBytes: this.limits.mqttPacketBytes,
      packetTimeoutMs: PACKET_TIMEOUT_MS,
      onRefuse: (_reason, why) => this.refusals.count(why === 'size' ? 'mqtt_packet_size' : 'mqtt_packet_timeout'),
    });
    guarded.once('close', () => admission.release());
    this.transports.set(guarded, { address: normalizeAddress(remoteAddress), admission });
    aedes.handle(guarded);
  }

  private forget(client: Client): void {
    const c = this.connections.get(client);
    if (this.claims.get(client.id) === client) this.claims.delete(client.id);
    if (this.registered.get(client.id) === client) this.registered.delete(client.id);
    if (!c) return;
    this.connections.delete(client);
    this.emit('clientDisconnected', c);
  }

  /** guests logged in now (closed clients still claiming an id are swept on the way) */
  private guestCount(): number {
    let n = 0;
    for (const [id, client] of this.claims) {
      if (client.closed) this.claims.delete(id);
      else if (this.connections.get(client)?.role !== 'owner') n++;
    }
    return n;
  }

  /** MQTT over WebSocket on an HTTP server's `path` (browsers, MQTT.js `ws://host:port/mqtt`). */
  attachWebSocket(httpServer: http.Server, path = '/mqtt'): void {
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.limits.mqttPacketBytes + 1024,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : (protocols.values().next().value ?? false)),
    });
    this.wss = wss;
    httpServer.on('upgrade', (req, socket, head) => {
      if ((req.url ?? '').split('?')[0] !== path) return; // another endpoint's upgrade
      wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        this.handle(stream, req.socket.remoteAddress, 'ws_connections');
      });
    });
  }

  /** The connection `clientId` is logged in with now, if any. */
  connectionOf(clientId: string): Connection | undefined {
    const client = this.registered.get(clientId);
    return client ? this.connections.get(client) : undefined;
  }

  /** The role of whoever holds `clientId` now ('guest' when nobody does). */
  roleOf(clientId: string): Role {
    return this.connectionOf(clientId)?.role ?? 'guest';
  }

  /** Whether the connection with this serial is still open (whatever id it acts for: an owner's `me~pub` acts for `me`). */
  isSerialOpen(serial: number): boolean {
    for (const client of this.registered.values()) if (!client.closed && this.connections.get(client)?.serial === serial) return true;
    return false;
  }

  /** Whether this exact connection is still open. */
  isOpen(c: Connection): boolean {
    return this.connectionOf(c.clientId)?.serial === c.serial;
  }

  /**
   * Delivers a message to one connection (if it is still open and subscribed to
   * the topic), and for the owner also to its other owner connections with the
   * same identity (`me~sub`). Nobody else receives it, whatever they subscribed.
   */
  sendTo(to: Connection, topic: string, payload: string | Buffer): boolean {
    const aedes = this.aedes;
    if (!aedes || aedes.closed) return false;
    const targets: Client[] = [];
    for (const client of this.registered.values()) {
      const c = this.connections.get(client);
      if (!c || client.closed) continue;
      const same = c.serial === to.serial || (to.role === 'owner' && c.role === 'owner' && identityOf(c.clientId) === identityOf(to.clientId));
      if (same && Object.keys(subscriptionsOf(client)).some((f) => topicMatches(f, topic))) targets.push(client);
    }
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    for (const client of targets) client.publish({ cmd: 'publish', topic, payload: bytes, qos: 0, retain: false, dup: false, messageId: 0 }, () => {});
    return targets.length > 0;
  }

  /** Publishes as the box, to every subscriber the access rules allow. */
  publish(topic: string, payload: string | Buffer, opts: { retain?: boolean; qos?: 0 | 1 } = {}): Promise<void> {
    const aedes = this.aedes;
    if (!aedes || aedes.closed) return Promise.resolve();
    return new Promise((resolve) => {
      aedes.publish(
        { cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: opts.qos ?? 0, retain: opts.retain ?? false, dup: false },
        () => resolve(),
      );
    });
  }

  /** Messages published by clients (not the box) on topics matching `filter`, with the publisher's connection. */
  async subscribe(filter: string, handler: Handler): Promise<void> {
    this.handlers.push({ filter, handler });
  }

  async stop(): Promise<void> {
    this.wss?.close();
    const closing = new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    await new Promise<void>((r) => (this.aedes ? this.aedes.close(() => r()) : r())); // ends every client connection
    await closing;
    this.aedes = null;
  }
}
