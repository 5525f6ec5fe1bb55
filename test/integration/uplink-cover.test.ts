// Home Assistant's cover image on the uplink, on Debian's Mosquitto 2: the box's
// uplink code in process with the real cover lookup (music-metadata reading the
// picture ffmpeg embedded in an MP3). Each track's picture goes up retained on
// `<prefix>/<box>/cover`, byte for byte; a track without one shows the
// placeholder; the device discovery has the image entity pointing there.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { NO_COVER, trackCovers } from '../../firmware/web/cover-art.ts';
import { waitFor } from '../helpers/box-process.ts';
import { deviceDiscoveryProblems } from '../helpers/ha-discovery-check.ts';
import { inProcessBox, type InProcessBox } from '../helpers/in-process-uplink.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';

const ffmpeg = (...args: string[]) => execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...args]);

describe('uplink: the cover image for Home Assistant (Mosquitto 2)', function () {
  this.timeout(60_000);
  let dir: string;
  let broker: Mosquitto;
  let box: InProcessBox;
  let ha: mqtt.MqttClient;
  const covers: Buffer[] = [];
  let discovery: { cmps: Record<string, Record<string, unknown>> } | null = null;
  const files: Record<string, string> = {};
  let picture: Buffer;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nc-uplink-cover-'));
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=s=120x120', '-frames:v', '1', path.join(dir, 'cover.jpg'));
    picture = readFileSync(path.join(dir, 'cover.jpg'));
    files.pictured = path.join(dir, 'pictured.mp3');
    ffmpeg(
      '-f',
      'lavfi',
      '-i',
      'sine=d=1',
      '-i',
      path.join(dir, 'cover.jpg'),
      '-map',
      '0',
      '-map',
      '1',
      '-c:a',
      'libmp3lame',
      '-c:v',
      'copy',
      '-disposition:v',
      'attached_pic',
      files.pictured,
    );
    files.plain = path.join(dir, 'plain.mp3');
    ffmpeg('-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'libmp3lame', files.plain);
    broker = await startMosquitto({ users: { box: 'pb', ha: 'ph' } });
    box = inProcessBox('c1', dir, { url: broker.url, username: 'box', password: 'pb' }, { volume: 41 }, { cover: trackCovers((id) => files[id]) });
    ha = await mqtt.connectAsync(broker.url, { protocolVersion: 5, username: 'ha', password: 'ph', reconnectPeriod: 0 });
    ha.on('message', (topic, payload) => {
      if (topic === 'nearcast/c1/cover') covers.push(payload);
      if (topic === 'homeassistant/device/c1/config') discovery = JSON.parse(payload.toString());
    });
    await ha.subscribeAsync(['nearcast/c1/cover', 'homeassistant/device/c1/config'], { qos: 1 });
    await box.uplink.start();
    await waitFor('connected with its discovery', () => box.uplink.connected && discovery, 15_000);
  });

  after(async () => {
    try {
      ha?.end(true);
      await box?.uplink.stop();
    } finally {
      await broker?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const track = (id: string) => box.events.emit('track', { track: { id, title: id, artist: '', album: '', durationMs: 1000 }, kind: 'song', playlist: null });

  it('an image entity that Home Assistant accepts, reading the cover topic', () => {
    expect(deviceDiscoveryProblems(discovery), 'problems Home Assistant would refuse').to.deep.equal([]);
    expect(discovery!.cmps.cover).to.include({ p: 'image', image_topic: 'nearcast/c1/cover', content_type: 'image/jpeg' });
  });

  it("each track's embedded picture goes up byte for byte, retained; a track without one shows the placeholder", async () => {
    track('pictured');
    await waitFor('the picture', () => covers.some((c) => c.equals(picture)), 10_000);
    track('plain');
    await waitFor('the placeholder', () => covers.at(-1)?.equals(Buffer.from(NO_COVER.data)), 10_000);
    expect([...covers.at(-1)!.subarray(0, 2)], 'a JPEG').to.deep.equal([0xff, 0xd8]);
    track('pictured');
    await waitFor('the picture again', () => covers.at(-1)?.equals(picture), 10_000);
    // a Home Assistant that connects later gets the current cover (retained)
    const late = await mqtt.connectAsync(broker.url, { protocolVersion: 5, username: 'ha', password: 'ph', reconnectPeriod: 0 });
    try {
      const retained = new Promise<{ bytes: Buffer; retain: boolean }>((resolve) => late.once('message', (_t, bytes, packet) => resolve({ bytes, retain: packet.retain })));
      await late.subscribeAsync('nearcast/c1/cover', { qos: 1 });
      const got = await retained;
      expect(got.retain).to.equal(true);
      expect(got.bytes.equals(picture), 'the retained cover is the picture').to.equal(true);
    } finally {
      await late.endAsync();
    }
  });
});
