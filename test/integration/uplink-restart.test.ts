// Events queued while the uplink broker was unreachable survive a restart of the
// box: told before the broker existed, the box stopped, the broker started, the
// box started again, they arrive in order with the ids they were given, and the
// queue on disk empties. The box's uplink code in process, aedes as the broker.

import { expect } from 'chai';
import { Aedes } from 'aedes';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { waitFor } from '../helpers/box-process.ts';
import { inProcessBox } from '../helpers/in-process-uplink.ts';

describe('uplink events queued across a restart of the box', function () {
  this.timeout(60_000);
  let dir: string;
  let aedes: Aedes | null = null;
  let server: net.Server | null = null;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nc-uplink-restart-'));
  });
  after(async () => {
    if (aedes) await new Promise<void>((resolve) => aedes!.close(() => resolve()));
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers what the previous run queued, in order, with its ids', async () => {
    // a port where nothing listens yet
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const config = { url: `mqtt://127.0.0.1:${port}`, homeassistant: false };
    const outbox = path.join(dir, 'r1', 'uplink-outbox.json');
    const onDisk = () => (existsSync(outbox) ? (JSON.parse(readFileSync(outbox, 'utf8')) as { events: Array<{ id: string; name: string }> }).events : []);

    const first = inProcessBox('r1', dir, config);
    await first.uplink.start();
    await waitFor('a refused connection', () => first.logs.some((l) => l.msg === 'uplink connection problem'), 15_000);
    first.events.emit('share', { open: true, remainingMs: 60_000 });
    first.events.emit('join', { id: 'nc-1', name: 'Bob' });
    first.events.emit('leave', { id: 'nc-1', name: 'Bob', reason: 'left' });
    await waitFor(`three events on disk (have ${onDisk().length})`, () => onDisk().length === 3, 10_000);
    const queued = onDisk();
    await first.uplink.stop();

    aedes = await Aedes.createBroker();
    server = net.createServer(aedes.handle);
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', () => resolve()));
    const watcher = await mqtt.connectAsync(config.url, { clientId: 'watcher', protocolVersion: 4, reconnectPeriod: 0 });
    const arrived: Array<{ name: string; id: string }> = [];
    watcher.on('message', (topic, p) => {
      if (topic.startsWith('nearcast/r1/event/')) arrived.push({ name: topic.split('/').at(-1) ?? '', id: (JSON.parse(p.toString()) as { id: string }).id });
    });
    await watcher.subscribeAsync('nearcast/r1/event/+', { qos: 1 });
    const second = inProcessBox('r1', dir, config);
    await second.uplink.start();
    try {
      await waitFor(`the three queued events (have ${arrived.length})`, () => arrived.length >= 3, 15_000);
      expect(arrived).to.deep.equal(queued.map((e) => ({ name: e.name, id: e.id })));
      await waitFor('the queue on disk empty', () => onDisk().length === 0, 10_000);
      expect(second.uplink.queued).to.equal(0);
    } finally {
      await second.uplink.stop();
      await watcher.endAsync();
    }
  });
});
