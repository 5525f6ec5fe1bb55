// config/mosquitto-acl.example on Debian's Mosquitto 2: boxes of two shops uplinked
// to one broker (the box's uplink code in process), and each shop's staff login
// sees and commands only its own shop's boxes, also through `nearcast fleet list`.

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { ROOT, runCompanion, waitFor } from '../helpers/box-process.ts';
import { inProcessBox, type InProcessBox } from '../helpers/in-process-uplink.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';

describe('Mosquitto ACL example: one broker, two shops', function () {
  this.timeout(60_000);
  let dir: string;
  let broker: Mosquitto;
  const boxes: Record<string, InProcessBox> = {};
  const staff: Record<string, { client: mqtt.MqttClient; seen: Array<{ topic: string; text: string }> }> = {};

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nc-uplink-acl-'));
    broker = await startMosquitto({
      users: { 'box-a1': 'pa1', 'box-a2': 'pa2', 'box-b1': 'pb1', 'shop-a': 'sa', 'shop-b': 'sb' },
      acl: readFileSync(path.join(ROOT, 'config/mosquitto-acl.example'), 'utf8'),
    });
    for (const [id, shop, password] of [
      ['a1', 'shop-a', 'pa1'],
      ['a2', 'shop-a', 'pa2'],
      ['b1', 'shop-b', 'pb1'],
    ] as const) {
      boxes[id] = inProcessBox(id, dir, { url: broker.url, username: `box-${id}`, password, prefix: `nearcast/${shop}` });
      await boxes[id].uplink.start();
    }
    for (const [shop, password] of [
      ['shop-a', 'sa'],
      ['shop-b', 'sb'],
    ] as const) {
      const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `${shop}-staff`, username: shop, password, reconnectPeriod: 0 });
      const seen: Array<{ topic: string; text: string }> = [];
      client.on('message', (topic, p) => seen.push({ topic, text: p.toString() }));
      // asks for everything: the broker delivers only what the login may read
      await client.subscribeAsync('nearcast/#', { qos: 1 });
      staff[shop] = { client, seen };
    }
    await waitFor('every box connected', () => Object.values(boxes).every((b) => b.uplink.connected), 20_000);
  });

  after(async () => {
    try {
      for (const { client } of Object.values(staff)) client.end(true);
      for (const box of Object.values(boxes)) await box.uplink.stop();
    } finally {
      await broker?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const topicsSeen = (shop: string) => staff[shop]!.seen.map((m) => m.topic);

  it("each shop sees its own boxes' state and events, and none of the other shop's", async () => {
    await waitFor('shop A sees a1 and a2', () => ['a1', 'a2'].every((id) => topicsSeen('shop-a').includes(`nearcast/shop-a/${id}/state`)), 10_000);
    await waitFor('shop B sees b1', () => topicsSeen('shop-b').includes('nearcast/shop-b/b1/state'), 10_000);
    // b1 tells an event, then a1: once shop A has a1's, b1's would have been delivered before it
    boxes.b1!.events.emit('share', { open: true, remainingMs: 1000 });
    await waitFor("shop B sees b1's event", () => topicsSeen('shop-b').includes('nearcast/shop-b/b1/event/share'), 10_000);
    boxes.a1!.events.emit('share', { open: true, remainingMs: 2000 });
    await waitFor("shop A sees a1's event", () => topicsSeen('shop-a').includes('nearcast/shop-a/a1/event/share'), 10_000);
    expect(
      topicsSeen('shop-a').filter((t) => !t.startsWith('nearcast/shop-a/')),
      'topics of other shops seen by shop A',
    ).to.deep.equal([]);
    expect(
      topicsSeen('shop-b').filter((t) => !t.startsWith('nearcast/shop-b/')),
      'topics of other shops seen by shop B',
    ).to.deep.equal([]);
  });

  it("a shop commands its own boxes; its requests to another shop's box are refused by the broker", async () => {
    const shopA = staff['shop-a']!.client;
    const replied = () => staff['shop-a']!.seen.find((m) => m.topic === 'nearcast/shop-a/a2/client/shop-a-staff/response/volume');
    await shopA.publishAsync('nearcast/shop-a/a2/client/shop-a-staff/request/volume', '{"volume":20,"transaction":"a"}', { qos: 1 });
    await waitFor("a2's reply", replied, 10_000);
    expect(JSON.parse(replied()!.text)).to.deep.include({ status: 'ok', transaction: 'a' });

    let refusal: unknown = null;
    await shopA.publishAsync('nearcast/shop-b/b1/client/shop-a-staff/request/volume', '{"volume":1,"transaction":"intruder"}', { qos: 1 }).catch((e: unknown) => {
      refusal = e;
    });
    // MQTT 5: Mosquitto answers the PUBACK with "not authorized" (135)
    expect((refusal as { code?: number } | null)?.code, `refusal ${String(refusal)}`).to.equal(135);
    // shop B's own request to b1 goes through after it: b1 never saw shop A's
    const shopB = staff['shop-b']!.client;
    await shopB.publishAsync('nearcast/shop-b/b1/client/shop-b-staff/request/status', '{"transaction":"b"}', { qos: 1 });
    await waitFor("b1's reply to shop B", () => staff['shop-b']!.seen.some((m) => m.topic === 'nearcast/shop-b/b1/client/shop-b-staff/response/status'), 10_000);
    expect(boxes.b1!.asked.map((a) => a.payload)).to.deep.equal(['{"transaction":"b"}']);
  });

  it("a shop's login cannot pose as a box: its publishes on box topics are refused", async () => {
    const shopA = staff['shop-a']!.client;
    let refusal: unknown = null;
    await shopA.publishAsync('nearcast/shop-a/a1/state', '{"volume":0}', { qos: 1, retain: true }).catch((e: unknown) => {
      refusal = e;
    });
    expect((refusal as { code?: number } | null)?.code, `refusal ${String(refusal)}`).to.equal(135);
  });

  it('`nearcast fleet volume all` and `announce` reach every online box of the shop, each answering; a box that does not answer is named', async () => {
    const env = { ...process.env, NEARCAST_PASSWORD: 'sa' };
    const args = ['--user', 'shop-a', 'fleet', '--broker', broker.url, '--prefix', 'nearcast/shop-a'];
    const volume = runCompanion([...args, 'volume', 'all', '30'], env);
    expect(await volume.exited, volume.stderr.join('\n')).to.equal(0);
    expect(volume.stdout).to.deep.equal(['a1  ok     volume 30', 'a2  ok     volume 30']);
    for (const id of ['a1', 'a2']) expect(boxes[id]!.asked.at(-1), id).to.deep.include({ op: 'volume' });
    expect(JSON.parse(boxes.a1!.asked.at(-1)!.payload)).to.include({ volume: 30 });
    expect(
      boxes.b1!.asked.filter((a) => a.op === 'volume'),
      "shop B's box",
    ).to.deep.equal([]);
    const announce = runCompanion([...args, 'announce', 'a1', 'Closing', 'in', 'ten', 'minutes'], env);
    expect(await announce.exited, announce.stderr.join('\n')).to.equal(0);
    expect(announce.stdout).to.deep.equal(['a1  ok     announced']);
    expect(JSON.parse(boxes.a1!.asked.at(-1)!.payload)).to.include({ text: 'Closing in ten minutes' });
    const ghost = runCompanion([...args, '--timeout', '2', 'volume', 'a9', '10'], env);
    expect(await ghost.exited).to.equal(1);
    expect(ghost.stdout.join('\n')).to.match(/^a9 {2}error {2}no reply within 2 s/);
  });

  it("`nearcast fleet list` with a shop's login lists that shop's boxes only, and a stopped box as offline", async () => {
    const list = async (shop: string, password: string) => {
      const cli = runCompanion(['--user', shop, 'fleet', '--broker', broker.url, '--prefix', `nearcast/${shop}`, 'list', '--json'], {
        ...process.env,
        NEARCAST_PASSWORD: password,
      });
      const code = await cli.exited;
      expect(code, cli.stderr.join('\n')).to.equal(0);
      return JSON.parse(cli.stdout.join('')) as Array<{ id: string; online: boolean | null; version: string | null; volume: number | null }>;
    };
    const shopA = await list('shop-a', 'sa');
    expect(shopA.map((b) => [b.id, b.online, b.version, b.volume])).to.deep.equal([
      ['a1', true, '0.0.0', 41],
      ['a2', true, '0.0.0', 41],
    ]);
    // shop A asks for shop B's prefix: the broker lets it read nothing there
    const cli = runCompanion(['--user', 'shop-a', 'fleet', '--broker', broker.url, '--prefix', 'nearcast/shop-b', 'list'], { ...process.env, NEARCAST_PASSWORD: 'sa' });
    expect(await cli.exited).to.equal(0);
    expect(cli.stdout.join('\n')).to.equal('no boxes under nearcast/shop-b/ (or this login may not read them)');
    await boxes.a2!.uplink.stop();
    const after = await list('shop-a', 'sa');
    expect(after.map((b) => [b.id, b.online])).to.deep.equal([
      ['a1', true],
      ['a2', false],
    ]);
  });
});
