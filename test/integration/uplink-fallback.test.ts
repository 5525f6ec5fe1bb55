// The uplink against a broker that speaks only MQTT 3.1.1 (aedes, as the box's own
// embedded broker is): with `protocol: auto` it falls back from 5 and works; with
// `protocol: "5"` it keeps retrying with backoff and never connects; and the same
// over WebSocket (ws://). In process, real sockets on loopback.

import { expect } from 'chai';
import { Aedes } from 'aedes';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { waitFor } from '../helpers/box-process.ts';
import { inProcessBox } from '../helpers/in-process-uplink.ts';

describe('uplink to an MQTT 3.1.1-only broker', function () {
  this.timeout(60_000);
  let dir: string;
  let aedes: Aedes;
  let server: net.Server;
  let url: string;
  let box: ReturnType<typeof inProcessBox>;
  const uplink = (protocol: 'auto' | '5') => {
    box = inProcessBox('b1', path.join(dir, 'state'), { url, protocol, homeassistant: false });
    return box.uplink;
  };

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nc-uplink-311-'));
    aedes = await Aedes.createBroker();
    server = net.createServer(aedes.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('auto: refused MQTT 5, it connects with 3.1.1; state, events (id in the payload) and requests work', async () => {
    const link = uplink('auto');
    const { events, logs, asked } = box;
    const watcher = await mqtt.connectAsync(url, { clientId: 'watcher', protocolVersion: 4, reconnectPeriod: 0 });
    const seen: Array<{ topic: string; text: string }> = [];
    watcher.on('message', (topic, p) => seen.push({ topic, text: p.toString() }));
    await watcher.subscribeAsync(['nearcast/b1/#']);
    await link.start();
    try {
      await waitFor('connected', () => link.connected, 15_000);
      expect(logs.find((l) => l.msg === 'uplink connected')?.extra?.protocol).to.equal('3.1.1');
      expect(logs.some((l) => l.msg.includes('refuses this MQTT version'))).to.equal(true);
      await waitFor(
        'online and the state',
        () =>
          seen.some((m) => m.topic === 'nearcast/b1/availability' && m.text.includes('online')) &&
          seen.some((m) => m.topic === 'nearcast/b1/state' && m.text === '{"box":{"id":"b1"},"volume":41}'),
        10_000,
      );
      events.emit('share', { open: true, remainingMs: 5000 });
      await waitFor('event/share', () => seen.some((m) => m.topic === 'nearcast/b1/event/share'), 10_000);
      const share = JSON.parse(seen.find((m) => m.topic === 'nearcast/b1/event/share')!.text);
      expect(share).to.include({ open: true, remainingMs: 5000 });
      expect(share.id).to.be.a('string');
      await watcher.publishAsync('nearcast/b1/client/c1/request/volume', '{"volume":5,"transaction":7}');
      await waitFor('the reply', () => seen.some((m) => m.topic === 'nearcast/b1/client/c1/response/volume'), 10_000);
      expect(JSON.parse(seen.find((m) => m.topic === 'nearcast/b1/client/c1/response/volume')!.text)).to.deep.equal({
        status: 'ok',
        data: { op: 'volume', box: 'b1', volume: 5 },
        transaction: 7,
      });
      expect(asked[0]).to.deep.include({ op: 'volume', payload: '{"volume":5,"transaction":7}' });
      expect(asked[0]!.caller).to.include({ clientId: 'uplink', role: 'owner' });
      await watcher.publishAsync('nearcast/b1/client/c1/request/join', '{"transaction":8}');
      await waitFor('the join refusal', () => seen.some((m) => m.topic === 'nearcast/b1/client/c1/response/join'), 10_000);
      expect(JSON.parse(seen.find((m) => m.topic === 'nearcast/b1/client/c1/response/join')!.text)).to.include({ status: 'error', transaction: 8 });
      // any other op goes to the router, ones added after the uplink too (an announcement)
      await watcher.publishAsync('nearcast/b1/client/c1/request/announce', '{"text":"closing soon","transaction":9}');
      await waitFor('the announce reply', () => seen.some((m) => m.topic === 'nearcast/b1/client/c1/response/announce'), 10_000);
      expect(
        asked.map((a) => a.op),
        'join never reaches the router',
      ).to.deep.equal(['volume', 'announce']);
    } finally {
      await link.stop();
      await watcher.endAsync();
    }
    expect(seen.at(-1), 'offline on a clean stop').to.deep.include({ topic: 'nearcast/b1/availability', text: '{"state":"offline"}' });
  });

  it('"5" only: never connects, retries with backoff, and stops cleanly', async () => {
    const link = uplink('5');
    const { logs } = box;
    await link.start();
    await waitFor('three refused attempts', () => logs.filter((l) => l.msg === 'uplink connection problem').length >= 3, 15_000);
    expect(link.connected).to.equal(false);
    expect(logs.some((l) => l.msg === 'uplink connected')).to.equal(false);
    const started = Date.now();
    await link.stop();
    expect(Date.now() - started, 'stop does not wait for a broker it never reached').to.be.below(1000);
  });

  it('ws://: the same over WebSocket', async () => {
    const web = http.createServer();
    const wss = new WebSocketServer({ server: web, path: '/mqtt' });
    wss.on('connection', (socket) => aedes.handle(createWebSocketStream(socket) as unknown as net.Socket));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', () => resolve()));
    url = `ws://127.0.0.1:${(web.address() as net.AddressInfo).port}/mqtt`;
    const link = uplink('auto');
    const watcher = await mqtt.connectAsync(url, { clientId: 'watcher', protocolVersion: 4, reconnectPeriod: 0 });
    const seen: string[] = [];
    watcher.on('message', (topic) => seen.push(topic));
    await watcher.subscribeAsync('nearcast/b1/#');
    await link.start();
    try {
      await waitFor('connected over WebSocket', () => link.connected, 15_000);
      await waitFor('the state over WebSocket', () => seen.includes('nearcast/b1/state'), 10_000);
      expect(box.logs.find((l) => l.msg === 'uplink connected')?.extra).to.include({ url, protocol: '3.1.1' });
    } finally {
      await link.stop();
      await watcher.endAsync();
      wss.close();
      web.closeAllConnections();
      await new Promise<void>((resolve) => web.close(() => resolve()));
    }
  });
});
