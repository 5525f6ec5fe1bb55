// A kiosk that plays a radio station when the station dies (real box with a programme,
// a station served on loopback, a real MQTT client): the box says so on event/error and
// goes on with the programme's next item at once, never silent without a word.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { hashPassword } from '../../firmware/config/password.ts';
import { startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { startLoopbackStation, type LoopbackStation } from '../helpers/loopback-station.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON from MQTT, its shape is what the assertions check
type Json = Record<string, any>;

describe('kiosk: a dead radio stream gives way to the programme (real box, loopback station)', function () {
  this.timeout(180_000);
  let dir: string;
  let box: BoxProcess;
  let radio: LoopbackStation;
  let client: mqtt.MqttClient;
  const events: Array<{ name: string; payload: Json; at: number }> = [];
  const replies: Json[] = [];
  let state: Json = {};

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-kiosk-radio-'));
    const music = path.join(dir, 'music', 'shop');
    mkdirSync(music, { recursive: true });
    for (const [i, hz] of [
      [1, 330],
      [2, 392],
    ] as const)
      execFileSync('ffmpeg', [
        '-nostdin',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        `sine=f=${hz}:d=20:sample_rate=48000`,
        '-ac',
        '2',
        '-metadata',
        `title=Shop Song ${i}`,
        path.join(music, `song${i}.flac`),
      ]);
    radio = await startLoopbackStation(600, { 'icy-name': 'Shop Radio' });
    const url = radio.url;
    const config = path.join(dir, 'box.yaml');
    writeFileSync(
      config,
      ['stations:', `  - { name: Shop Radio, url: "${url}" }`, 'programme:', '  playlists:', '    - { id: shop, items: [{ folder: shop }], order: sequential }', ''].join('\n'),
    );
    box = await startBox(
      ['--config', config, '--box-id', 'kr', '--music', path.join(dir, 'music'), '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'state')],
      { NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw') },
      90_000,
    );
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'me', username: 'owner', password: 'pw', protocolVersion: 4 });
    client.on('message', (topic, p) => {
      const payload = JSON.parse(p.toString());
      if (topic === 'nearcast/kr/state') state = payload;
      else if (topic.startsWith('nearcast/kr/event/')) events.push({ name: topic.slice('nearcast/kr/event/'.length), payload, at: Date.now() });
      else replies.push(payload);
    });
    await client.subscribeAsync(['nearcast/kr/state', 'nearcast/kr/event/#', 'nearcast/kr/client/me/response/#']);
  });
  after(async () => {
    await client?.endAsync();
    if (box) expect(await box.stop()).to.equal(0);
    radio?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the station dies: event/error says so and the programme plays its next item at once', async () => {
    await waitFor('the programme playing', () => state.track?.title?.startsWith('Shop Song'), 30_000);
    const n = replies.length;
    client.publish('nearcast/kr/client/me/request/source', JSON.stringify({ source: 'Shop Radio' }));
    const reply = await waitFor('reply', () => replies[n], 10_000);
    expect(reply.status, JSON.stringify(reply)).to.equal('ok');
    await waitFor(`the station connected (${JSON.stringify(events)})`, () => events.find((e) => e.name === 'stream' && e.payload.state === 'connected'), 20_000);
    // the state is published beside the event: it may arrive a moment later
    await waitFor(
      () => `state on the station (state ${JSON.stringify(state)}; events ${JSON.stringify(events.slice(-5))})`,
      () => state.source === 'Shop Radio',
      5000,
    );

    const killedAt = Date.now();
    radio.close();
    const error = await waitFor(`event/error after the station died (${JSON.stringify(events)})`, () => events.find((e) => e.at >= killedAt && e.name === 'error'), 20_000);
    expect(error.payload.source).to.equal('Shop Radio');
    expect(error.payload.message).to.match(/the programme goes on with its next item/);
    const next = await waitFor(
      `the programme's next item (${JSON.stringify(events.slice(-5))})`,
      () => events.find((e) => e.at >= killedAt && e.name === 'track' && e.payload.track?.title?.startsWith('Shop Song')),
      15_000,
    );
    expect(next.payload).to.include({ kind: 'song', playlist: 'shop' });
    expect(next.at - error.at, 'from the error to the next item heard (ms)').to.be.below(8000);
    await waitFor('state back on the programme', () => state.source === 'library' && state.state === 'playing', 5000);
  });
});
