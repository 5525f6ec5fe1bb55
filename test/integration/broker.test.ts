// The embedded broker on real sockets with real MQTT clients (TCP and WebSocket).

import { expect } from 'chai';
import http from 'node:http';
import mqtt, { type MqttClient } from 'mqtt';
import { EmbeddedBroker } from '../../firmware/broker/embedded-broker.ts';
import { hashPassword } from '../../firmware/config/password.ts';

/** SUBACK return codes, one per filter (128 = refused); mqtt.js turns any refusal into an error carrying the packet. */
async function grants(c: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await c.subscribeAsync(filters)).map((g) => g.qos);
  } catch (e) {
    const packet = (e as { packet?: { granted?: Array<number | { qos: number }> } }).packet;
    if (!packet?.granted) throw e;
    return packet.granted.map((g) => (typeof g === 'number' ? g : g.qos));
  }
}

describe('embedded broker: access rules on real sockets', function () {
  this.timeout(20_000);
  let broker: EmbeddedBroker;
  let httpServer: http.Server;
  let httpPort: number;
  const seen: Array<{ topic: string; clientId: string | null }> = [];
  const clients: MqttClient[] = [];
  const connect = async (clientId: string, extra: mqtt.IClientOptions = {}, url = `mqtt://127.0.0.1:${broker.mqttPort}`) => {
    const c = await mqtt.connectAsync(url, { clientId, protocolVersion: 4, reconnectPeriod: 0, ...extra });
    clients.push(c);
    return c;
  };

  before(async () => {
    broker = new EmbeddedBroker();
    await broker.start({ host: '127.0.0.1', mqttPort: 0, boxId: 'box', owner: { username: 'owner', passwordHash: hashPassword('pw') } });
    await broker.subscribe('nearcast/box/#', (topic, _p, from) => seen.push({ topic, clientId: from?.clientId ?? null }));
    httpServer = http.createServer();
    broker.attachWebSocket(httpServer, '/mqtt');
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', () => r()));
    httpPort = (httpServer.address() as { port: number }).port;
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await broker.stop();
    await new Promise((r) => httpServer.close(r));
  });

  it("a client may subscribe to its own replies and the box topics, not to another client's replies", async () => {
    const bob = await connect('bob');
    expect(await grants(bob, ['nearcast/box/client/bob/response/+', 'nearcast/box/state', 'nearcast/box/client/alice/response/+', '#'])).to.deep.equal([0, 0, 128, 128]);
    // the refusal is per subscription: bob is still connected and gets box messages
    const got = new Promise<string>((r) => bob.once('message', (t) => r(t)));
    await broker.publish('nearcast/box/state', '{"state":"idle"}');
    expect(await got).to.equal('nearcast/box/state');
  });

  it("a client cannot read another client's replies even with wildcards", async () => {
    const eve = await connect('eve');
    expect(await grants(eve, ['nearcast/box/client/+/response/#', 'nearcast/+/client/alice/#'])).to.deep.equal([128, 128]);
  });

  it("publishing to a box topic or another client's request topic is refused and never reaches the box", async () => {
    for (const topic of ['nearcast/box/state', 'nearcast/box/client/alice/request/join']) {
      const mallory = await connect(`mallory${seen.length}`);
      const closed = new Promise<void>((r) => mallory.once('close', () => r()));
      mallory.publish(topic, '{"state":"hacked"}', { qos: 1 });
      await closed; // MQTT 3.1.1 has no per-message refusal: the broker drops the client
      expect(seen.some((s) => s.topic === topic)).to.equal(false);
    }
    const ok = await connect('carol');
    await ok.publishAsync('nearcast/box/client/carol/request/status', '{}', { qos: 1 });
    expect(seen.find((s) => s.topic === 'nearcast/box/client/carol/request/status')?.clientId).to.equal('carol');
  });

  it('the owner logs in with the password; a wrong one is refused; guests need none', async () => {
    await connect('own', { username: 'owner', password: 'pw' });
    expect(broker.roleOf('own')).to.equal('owner');
    await connect('guest1');
    expect(broker.roleOf('guest1')).to.equal('guest');
    let refused: Error | null = null;
    try {
      await connect('own2', { username: 'owner', password: 'nope' });
    } catch (e) {
      refused = e as Error;
    }
    expect(refused?.message).to.match(/Bad username or password|Not authorized/i);
  });

  it('a client id with topic characters is refused at connect', async () => {
    let refused: Error | null = null;
    try {
      await connect('a/b');
    } catch (e) {
      refused = e as Error;
    }
    expect(refused?.message).to.match(/Identifier rejected/i);
  });

  it('MQTT over WebSocket works at /mqtt with the same rules', async () => {
    const w = await connect('webby', {}, `ws://127.0.0.1:${httpPort}/mqtt`);
    expect(await grants(w, ['nearcast/box/client/webby/response/+', 'nearcast/box/client/bob/response/+'])).to.deep.equal([0, 128]);
    await w.publishAsync('nearcast/box/client/webby/request/status', '{}', { qos: 1 });
    expect(seen.find((s) => s.clientId === 'webby')?.topic).to.equal('nearcast/box/client/webby/request/status');
  });
});
