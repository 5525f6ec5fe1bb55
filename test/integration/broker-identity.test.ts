// Identity and limits of the embedded broker on real sockets, as an attacker on
// the same network would try them: claiming another client's id, reading its
// replies, huge or endless packets, piles of connections and subscriptions.

import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { EmbeddedBroker } from '../../firmware/broker/embedded-broker.ts';
import { hashPassword } from '../../firmware/config/password.ts';

/** CONNECT packet (MQTT 3.1.1, clean session, keepalive 0) for a raw socket */
function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, 2, 0, 0]), Buffer.from([id.length >> 8, id.length & 255]), id]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

describe('embedded broker: identity cannot be claimed, limits hold before work', function () {
  this.timeout(30_000);
  let broker: EmbeddedBroker;
  let httpServer: http.Server;
  const clients: MqttClient[] = [];
  const sockets: net.Socket[] = [];
  const url = () => `mqtt://127.0.0.1:${broker.mqttPort}`;
  const connect = async (clientId: string, extra: mqtt.IClientOptions = {}) => {
    const c = await mqtt.connectAsync(url(), { clientId, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...extra });
    clients.push(c);
    return c;
  };
  const refusedConnect = async (clientId: string, extra: mqtt.IClientOptions = {}) => {
    try {
      await connect(clientId, extra);
      return 'accepted';
    } catch (e) {
      return (e as Error).message;
    }
  };
  const raw = async () => {
    const s = net.connect(broker.mqttPort, '127.0.0.1');
    sockets.push(s);
    s.on('error', () => {});
    await new Promise((r) => s.once('connect', r));
    return s;
  };

  before(async () => {
    broker = new EmbeddedBroker();
    await broker.start({
      host: '127.0.0.1',
      mqttPort: 0,
      boxId: 'box',
      owner: { username: 'owner', passwordHash: hashPassword('pw') },
      limits: { connectionsPerAddress: 12, connections: 64, subscriptionsPerClient: 4, loginBackoffMaxSeconds: 1 },
    });
    httpServer = http.createServer();
    broker.attachWebSocket(httpServer, '/mqtt');
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', () => r()));
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.end(true);
    for (const s of sockets.splice(0)) s.destroy();
  });
  after(async () => {
    await broker.stop();
    await new Promise((r) => httpServer.close(r));
  });

  it('a guest cannot take over a connected id, nor use a ~ id to share its replies', async () => {
    const victim = await connect('victim');
    expect(await refusedConnect('victim')).to.match(/Identifier rejected/);
    expect(await refusedConnect('victim~x')).to.match(/Identifier rejected/);
    expect(victim.connected, 'the victim keeps its session').to.equal(true);
    expect(broker.refusals.get('mqtt_takeover')).to.be.greaterThan(0);
  });

  it('an anonymous client cannot kick the owner; an owner reconnecting with its id stays the owner', async () => {
    const owner = await connect('own', { username: 'owner', password: 'pw' });
    expect(await refusedConnect('own')).to.match(/Identifier rejected/);
    expect(owner.connected).to.equal(true);
    const first = broker.connectionOf('own')!;
    expect(first.role).to.equal('owner');
    const closed = new Promise<void>((r) => owner.once('close', () => r()));
    const again = await connect('own', { username: 'owner', password: 'pw' });
    await closed; // the old session's close must not take the role with it
    const second = broker.connectionOf('own')!;
    expect(second.serial).to.not.equal(first.serial);
    expect(second.role).to.equal('owner');
    expect(broker.roleOf('own')).to.equal('owner');
    expect(again.connected).to.equal(true);
  });

  it('a reply reaches only the connection that asked, not a later holder of the same id', async () => {
    const alice = await connect('alice');
    await alice.subscribeAsync('nearcast/box/client/alice/response/+');
    const asked = broker.connectionOf('alice')!;
    const got: string[] = [];
    const first = new Promise<void>((r) =>
      alice.on('message', (_t, p) => {
        got.push(p.toString());
        r();
      }),
    );
    expect(broker.sendTo(asked, 'nearcast/box/client/alice/response/status', 'one')).to.equal(true);
    await first;
    alice.end(true);
    await new Promise((r) => setTimeout(r, 100));
    const later = await connect('alice');
    await later.subscribeAsync('nearcast/box/client/alice/response/+');
    const stolen: string[] = [];
    later.on('message', (_t, p) => stolen.push(p.toString()));
    expect(broker.sendTo(asked, 'nearcast/box/client/alice/response/join', 'token')).to.equal(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(got).to.deep.equal(['one']);
    expect(stolen).to.deep.equal([]);
  });

  it('a PUBLISH declaring 200 MB is refused from its header, before anything is buffered', async () => {
    const before = broker.refusals.get('mqtt_packet_size');
    const s = await raw();
    s.write(connectPacket('big'));
    s.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x64])); // remaining length 200 MiB (0x64 << 21)
    expect(await closedWithin(s, 3000)).to.equal(true);
    expect(broker.refusals.get('mqtt_packet_size')).to.equal(before + 1);
  });

  it('topic depth and subscriptions per client are bounded (SUBACK 0x80); the client stays', async () => {
    const c = await connect('subber');
    const granted = async (filter: string) => {
      try {
        return (await c.subscribeAsync(filter))[0]?.qos;
      } catch (e) {
        return ((e as { packet?: { granted?: number[] } }).packet?.granted ?? [-1])[0];
      }
    };
    expect(await granted('nearcast/box/client/subber/a/b/c/d/e/f')).to.equal(128);
    const results = [];
    for (const f of ['nearcast/box/state', 'nearcast/box/listeners', 'nearcast/box/telemetry', 'nearcast/box/availability', 'nearcast/box/event/#']) results.push(await granted(f));
    expect(results).to.deep.equal([0, 0, 0, 0, 128]);
    expect(c.connected).to.equal(true);
  });

  it('one address holds at most connectionsPerAddress sockets; the next is closed at once', async () => {
    const held = [];
    for (let i = 0; i < 12; i++) held.push(await raw());
    const extra = await raw();
    expect(await closedWithin(extra, 2000)).to.equal(true);
    expect(broker.refusals.get('mqtt_connections')).to.be.greaterThan(0);
  });

  it('MQTT over WebSocket: a message larger than the packet limit closes the connection', async () => {
    const port = (httpServer.address() as { port: number }).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt');
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.on('error', () => {});
    ws.send(Buffer.alloc(200 * 1024, 1));
    expect(await closed).to.equal(1009); // message too big
  });

  it('failed logins are slowed per address and counted; the right password works after the wait', async () => {
    expect(await refusedConnect('l1', { username: 'owner', password: 'nope' })).to.match(/Bad username or password/i);
    expect(await refusedConnect('l2', { username: 'owner', password: 'pw' }), 'inside the back-off').to.match(/Server unavailable|Bad username/i);
    expect(broker.refusals.get('login_failed')).to.be.greaterThan(0);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await refusedConnect('l3', { username: 'owner', password: 'pw' })).to.equal('accepted');
  });

  it('a client whose network vanished is closed after 1.5 x the keepalive served: 0 (never) is served as keepaliveMaxSeconds', async () => {
    const strict = new EmbeddedBroker();
    await strict.start({ host: '127.0.0.1', mqttPort: 0, boxId: 'box', owner: { username: 'owner', passwordHash: null }, limits: { keepaliveMaxSeconds: 5 } });
    try {
      const s = net.connect(strict.mqttPort, '127.0.0.1');
      sockets.push(s);
      await new Promise((r) => s.once('connect', r));
      const connack = new Promise<Buffer>((r) => s.once('data', r));
      s.write(connectPacket('silent')); // keepalive 0, then nothing more: a device that walked away
      expect((await connack)[3], 'CONNACK accepted').to.equal(0);
      const t0 = Date.now();
      const gone = await closedWithin(s, 15_000);
      const ms = Date.now() - t0;
      expect(gone, 'closed within 15 s').to.equal(true);
      expect(ms, `closed ${ms} ms after its CONNACK, against 7.5 s`).to.be.within(7000, 12_000);
    } finally {
      await strict.stop();
    }
  });
});
