// The box's own MQTT broker (aedes, MQTT 3.1.1) on TCP and on WebSocket, with
// the access rules of acl.ts and the owner login.

import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import net from 'node:net';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { verifyPassword } from '../config/password.ts';
import { mayPublish, maySubscribe, validClientId } from './acl.ts';

export type Role = 'owner' | 'guest';

export interface BrokerStartOptions {
  host: string;
  mqttPort: number;
  boxId: string;
  owner: { username: string; passwordHash: string | null };
  log?: (level: 'info' | 'warn', msg: string, extra?: object) => void;
}

type Handler = (topic: string, payload: Buffer, clientId: string | null) => void;

const mqttMatch = (filter: string, topic: string): boolean => {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
};

export class EmbeddedBroker extends EventEmitter<{ clientConnected: [string]; clientDisconnected: [string] }> {
  private aedes: Aedes | null = null;
  private server: net.Server | null = null;
  private wss: WebSocketServer | null = null;
  private roles = new Map<string, Role>();
  private handlers: Array<{ filter: string; handler: Handler }> = [];
  mqttPort = 0;

  async start(o: BrokerStartOptions): Promise<void> {
    const aedes = await Aedes.createBroker({
      id: `nearcast-${o.boxId}`,
      maxClientsIdLength: 64,
      authenticate: (client, username, password, done) => {
        const bad = validClientId(client.id);
        if (bad) return done(Object.assign(new Error(bad), { returnCode: 2 }), false);
        if (username === undefined || username === '') {
          this.roles.set(client.id, 'guest');
          return done(null, true);
        }
        if (username === o.owner.username && verifyPassword(password?.toString('utf8') ?? '', o.owner.passwordHash)) {
          this.roles.set(client.id, 'owner');
          return done(null, true);
        }
        o.log?.('warn', 'refused a login', { clientId: client.id, username });
        done(Object.assign(new Error('bad username or password'), { returnCode: 4 }), false);
      },
      authorizeSubscribe: (client, sub, done) => {
        if (maySubscribe(client.id, sub.topic)) return done(null, sub);
        o.log?.('info', 'refused a subscription', { clientId: client.id, topic: sub.topic });
        done(null, null); // refuses this one subscription (SUBACK 0x80); the client stays
      },
      authorizePublish: (client, packet, done) => {
        const why = mayPublish(client ? client.id : null, packet.topic, o.boxId, !!packet.retain, client ? this.roleOf(client.id) : 'guest');
        if (!why) return done(null);
        o.log?.('info', 'refused a publish', { clientId: client?.id, topic: packet.topic });
        done(new Error(why)); // MQTT 3.1.1 has no per-message refusal: aedes disconnects the client
      },
    });
    this.aedes = aedes;
    aedes.on('client', (c: Client) => this.emit('clientConnected', c.id));
    aedes.on('clientDisconnect', (c: Client) => { this.roles.delete(c.id); this.emit('clientDisconnected', c.id); });
    aedes.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
      if (!client || packet.topic.startsWith('$SYS')) return;
      for (const h of this.handlers) if (mqttMatch(h.filter, packet.topic)) h.handler(packet.topic, packet.payload as Buffer, client.id);
    });
    const server = net.createServer((socket) => aedes.handle(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.mqttPort, o.host, () => { server.off('error', reject); resolve(); });
    });
    this.mqttPort = (server.address() as net.AddressInfo).port;
  }

  /** MQTT over WebSocket on an HTTP server's `path` (browsers, MQTT.js `ws://host:port/mqtt`). */
  attachWebSocket(httpServer: http.Server, path = '/mqtt'): void {
    const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.values().next().value ?? false) });
    this.wss = wss;
    httpServer.on('upgrade', (req, socket, head) => {
      if ((req.url ?? '').split('?')[0] !== path) return; // another endpoint's upgrade
      wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => stream.destroy());
        this.aedes?.handle(stream, req);
      });
    });
  }

  roleOf(clientId: string): Role {
    return this.roles.get(clientId) ?? 'guest';
  }

  /** Publishes as the box. */
  publish(topic: string, payload: string | Buffer, opts: { retain?: boolean; qos?: 0 | 1 } = {}): Promise<void> {
    const aedes = this.aedes;
    if (!aedes || aedes.closed) return Promise.resolve();
    return new Promise((resolve) => {
      aedes.publish({ cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: opts.qos ?? 0, retain: opts.retain ?? false, dup: false }, () => resolve());
    });
  }

  /** Messages published by clients (not the box) on topics matching `filter`, with the publisher's id. */
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
