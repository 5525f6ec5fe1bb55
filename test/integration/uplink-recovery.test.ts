// The uplink across outages, on Debian's Mosquitto 2 (the box's uplink code in
// process): telemetry published while the broker is down waits on disk, bounded,
// the newest kept, and arrives in order once each; and a box that had to fall back
// to MQTT 3.1.1 tries MQTT 5 again at its next connection (here the broker behind
// the address changes from a 3.1.1-only aedes to Mosquitto, through a loopback
// relay the test switches).

import { expect } from 'chai';
import { Aedes } from 'aedes';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import type { Telemetry } from '../../firmware/extensions/telemetry.ts';
import { waitFor } from '../helpers/box-process.ts';
import { inProcessBox, type InProcessBox } from '../helpers/in-process-uplink.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';

/** a TCP relay on loopback whose target the test changes; switching drops the connections relayed so far */
async function switchableRelay(target: number) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target, '127.0.0.1');
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    switchTo(port: number) {
      target = port;
      for (const socket of sockets) socket.destroy();
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('uplink across outages (Mosquitto 2)', function () {
  this.timeout(60_000);
  let dir: string;
  let broker: Mosquitto;
  const stops: Array<() => Promise<unknown>> = [];

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nc-uplink-recovery-'));
    broker = await startMosquitto({ users: { box: 'pb', watch: 'pw' } });
  });
  afterEach(async () => {
    try {
      for (const stop of stops.splice(0).reverse()) await stop();
    } finally {
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('telemetry while the broker is down waits on disk (the newest 3 of 5 kept) and arrives in order, once each', async () => {
    const telemetry = new EventEmitter();
    const box: InProcessBox = inProcessBox(
      't1',
      dir,
      { url: broker.url, username: 'box', password: 'pb', queueTelemetry: 3 },
      { volume: 41 },
      {
        telemetry: telemetry as unknown as Pick<Telemetry, 'on' | 'off'>,
      },
    );
    // a session that outlives the broker's restart, as Home Assistant's does
    const watch = await mqtt.connectAsync(broker.url, {
      protocolVersion: 5,
      clientId: 'watch',
      username: 'watch',
      password: 'pw',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
      reconnectPeriod: 200,
    });
    stops.push(() => watch.endAsync(true));
    const got: Array<{ n: number; id: unknown }> = [];
    watch.on('message', (_topic, payload, packet) => {
      const reading = JSON.parse(payload.toString()) as { n: number };
      got.push({ n: reading.n, id: packet.properties?.userProperties?.id });
    });
    await watch.subscribeAsync('nearcast/t1/telemetry', { qos: 1 });
    await box.uplink.start();
    stops.push(() => box.uplink.stop());
    await waitFor('connected', () => box.uplink.connected, 15_000);
    telemetry.emit('published', JSON.stringify({ n: 0, cpu: 1 }));
    await waitFor('live telemetry', () => got.length === 1, 10_000);

    await broker.stop();
    await waitFor('the uplink notices', () => !box.uplink.connected, 15_000);
    for (let n = 1; n <= 5; n++) telemetry.emit('published', JSON.stringify({ n, cpu: 1 }));
    expect(box.uplink.queuedTelemetry, 'queued').to.equal(3);
    const file = path.join(dir, 't1', 'uplink-telemetry.json');
    const onDisk = () => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { events: Array<{ payload: { n: number } }>; dropped: number }) : null);
    await waitFor('the queue on disk', () => onDisk()?.events.length === 3, 5_000);
    expect(onDisk()!.events.map((e) => e.payload.n)).to.deep.equal([3, 4, 5]);
    expect(onDisk()!.dropped).to.equal(2);

    await broker.start();
    await waitFor(`the queued telemetry (got ${JSON.stringify(got.map((g) => g.n))})`, () => got.length >= 4, 20_000);
    await waitFor('the queue drained', () => box.uplink.queuedTelemetry === 0, 10_000);
    expect(got.map((g) => g.n)).to.deep.equal([0, 3, 4, 5]);
    expect(new Set(got.map((g) => g.id)).size, 'distinct ids').to.equal(4);
  });

  it('after a fallback to 3.1.1, the next connection tries MQTT 5 again and uses it where the broker speaks it', async () => {
    const aedes = await Aedes.createBroker();
    const old = net.createServer(aedes.handle);
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', () => resolve()));
    stops.push(async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => old.close(() => resolve()));
    });
    const relay = await switchableRelay((old.address() as net.AddressInfo).port);
    stops.push(() => relay.close());
    // aedes lets anyone in: the username and password are for Mosquitto
    const box = inProcessBox('r1', dir, { url: relay.url, username: 'box', password: 'pb', homeassistant: false });
    await box.uplink.start();
    stops.push(() => box.uplink.stop());
    const connections = () => box.logs.filter((l) => l.msg === 'uplink connected').map((l) => l.extra?.protocol);
    await waitFor('connected to the 3.1.1 broker', () => connections().length === 1, 15_000);
    expect(connections()).to.deep.equal(['3.1.1']);

    relay.switchTo(broker.port);
    await waitFor(`connected again (so far ${JSON.stringify(connections())})`, () => connections().length === 2, 20_000);
    expect(connections()).to.deep.equal(['3.1.1', '5']);
    // and it is a working MQTT 5 session: an event carries its id as a user property
    const watch = await mqtt.connectAsync(broker.url, { protocolVersion: 5, username: 'watch', password: 'pw', reconnectPeriod: 0 });
    stops.push(() => watch.endAsync());
    const id = new Promise<unknown>((resolve) => watch.once('message', (_t, _p, packet) => resolve(packet.properties?.userProperties?.id)));
    await watch.subscribeAsync('nearcast/r1/event/share', { qos: 1 });
    box.events.emit('share', { open: true, remainingMs: 1000 });
    expect(await id).to.be.a('string');
  });
});
