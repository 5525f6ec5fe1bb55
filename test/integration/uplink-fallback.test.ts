// The uplink against a broker that speaks only MQTT 3.1.1 (aedes, as the box's own
// embedded broker is): with `protocol: auto` it falls back from 5 and works; with
// `protocol: "5"` it keeps retrying with backoff and never connects. In process,
// real sockets on loopback.

import { expect } from 'chai';
import { Aedes } from 'aedes';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { loadConfig } from '../../firmware/config/config.ts';
import { BoxEvents } from '../../firmware/domain/box-events.ts';
import type { Caller } from '../../firmware/domain/caller.ts';
import { StatePublisher } from '../../firmware/extensions/state-publisher.ts';
import { Uplink } from '../../firmware/extensions/uplink.ts';
import type { Reply } from '../../firmware/wire/requests.ts';
import { waitFor } from '../helpers/box-process.ts';

describe('uplink to an MQTT 3.1.1-only broker', function () {
  this.timeout(60_000);
  let dir: string;
  let aedes: Aedes;
  let server: net.Server;
  let url: string;
  const logs: Array<{ level: string; msg: string; extra?: Record<string, unknown> }> = [];
  const asked: Array<{ caller: Caller; op: string; payload: string }> = [];
  // the request router's contract, recorded: every request gets one reply
  const router = {
    handle: async (caller: Caller, op: string, payload: Uint8Array): Promise<Reply> => {
      asked.push({ caller, op, payload: Buffer.from(payload).toString() });
      return { status: 'ok', data: { op } };
    },
    ask: async (): Promise<Reply> => ({ status: 'ok' }),
  };

  function uplink(protocol: 'auto' | '5', events = new BoxEvents()) {
    const config = { ...loadConfig({ env: {} }).mqtt.uplink, url, protocol, reconnectMinSeconds: 0.1, reconnectMaxSeconds: 0.4, homeassistant: false };
    const statePublisher = new StatePublisher({ broker: { publish: async () => {} }, topics: { state: 's', listeners: 'l', availability: 'a' }, events, state: () => ({ volume: 41 }), listeners: () => [] });
    statePublisher.publishNow();
    return new Uplink({
      config, boxId: 'b1', name: 'Box', version: '0.0.0', stateDir: path.join(dir, 'state'), events, statePublisher, router,
      sources: () => ['library'], log: (level, msg, extra) => logs.push({ level, msg, ...(extra ? { extra } : {}) }),
    });
  }

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nc-uplink-311-'));
    logs.length = 0;
    asked.length = 0;
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
    const events = new BoxEvents();
    const box = uplink('auto', events);
    const watcher = await mqtt.connectAsync(url, { clientId: 'watcher', protocolVersion: 4, reconnectPeriod: 0 });
    const seen: Array<{ topic: string; text: string }> = [];
    watcher.on('message', (topic, p) => seen.push({ topic, text: p.toString() }));
    await watcher.subscribeAsync(['nearcast/b1/#']);
    box.start();
    try {
      await waitFor('connected', () => box.connected, 15_000);
      expect(logs.find((l) => l.msg === 'uplink connected')?.extra?.protocol).to.equal('3.1.1');
      expect(logs.some((l) => l.msg.includes('refuses this MQTT version'))).to.equal(true);
      await waitFor('online and the state', () => seen.some((m) => m.topic === 'nearcast/b1/availability' && m.text.includes('online')) && seen.some((m) => m.topic === 'nearcast/b1/state' && m.text === '{"volume":41}'), 10_000);
      events.emit('share', { open: true, remainingMs: 5000 });
      await waitFor('event/share', () => seen.some((m) => m.topic === 'nearcast/b1/event/share'), 10_000);
      const share = JSON.parse(seen.find((m) => m.topic === 'nearcast/b1/event/share')!.text);
      expect(share).to.include({ open: true, remainingMs: 5000 });
      expect(share.id).to.be.a('string');
      await watcher.publishAsync('nearcast/b1/client/c1/request/volume', '{"volume":5,"transaction":7}');
      await waitFor('the reply', () => seen.some((m) => m.topic === 'nearcast/b1/client/c1/response/volume'), 10_000);
      expect(JSON.parse(seen.find((m) => m.topic === 'nearcast/b1/client/c1/response/volume')!.text)).to.deep.equal({ status: 'ok', data: { op: 'volume' } });
      expect(asked[0]).to.deep.include({ op: 'volume', payload: '{"volume":5,"transaction":7}' });
      expect(asked[0]!.caller).to.include({ clientId: 'uplink', role: 'owner' });
      await watcher.publishAsync('nearcast/b1/client/c1/request/join', '{"transaction":8}');
      await waitFor('the join refusal', () => seen.some((m) => m.topic === 'nearcast/b1/client/c1/response/join'), 10_000);
      expect(JSON.parse(seen.find((m) => m.topic === 'nearcast/b1/client/c1/response/join')!.text)).to.include({ status: 'error', transaction: 8 });
      expect(asked.map((a) => a.op), 'join never reaches the router').to.deep.equal(['volume']);
    } finally {
      await box.stop();
      await watcher.endAsync();
    }
    expect(seen.at(-1), 'offline on a clean stop').to.deep.include({ topic: 'nearcast/b1/availability', text: '{"state":"offline"}' });
  });

  it('"5" only: never connects, retries with backoff, and stops cleanly', async () => {
    const box = uplink('5');
    box.start();
    await waitFor('three refused attempts', () => logs.filter((l) => l.msg === 'uplink connection problem').length >= 3, 15_000);
    expect(box.connected).to.equal(false);
    expect(logs.some((l) => l.msg === 'uplink connected')).to.equal(false);
    const started = Date.now();
    await box.stop();
    expect(Date.now() - started, 'stop does not wait for a broker it never reached').to.be.below(1000);
  });
});
