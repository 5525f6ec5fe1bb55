// Internet radio end to end against a real Icecast 2 (Debian's icecast2) fed by ffmpeg
// on loopback: a real box plays `url:` the mount, a real companion records what it
// plays into an ALSA `file` PCM, an MQTT client watches `state` and the events.
// Checked: the companion hears the fed tone; a title set on the server (the admin
// metadata call a station's playout software makes) reaches `state` and event/track;
// killing the feeding encoder is told on event/error and the box reconnects by itself
// when the station comes back (a different tone, so the recovered audio is the new feed).

import { expect } from 'chai';
import { statSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { makeFilePcmConfig } from '../helpers/alsa-file-pcm.ts';
import { firstSound, readRaw, toneMatch } from '../helpers/audio-compare.ts';
import { runCompanion, startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { startIcecast, type Icecast } from '../helpers/icecast.ts';
import { hashPassword } from '../../firmware/config/password.ts';

const BYTES_PER_SECOND = 48000 * 4;

describe('internet radio from a real Icecast 2 server (real box and companion processes)', function () {
  this.timeout(240_000);
  let dir: string;
  let icecast: Icecast;
  let box: BoxProcess | null = null;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-radio-'));
    icecast = await startIcecast();
  });
  after(async () => {
    if (box) await box.stop();
    await icecast?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plays the station, shows its titles, reports the feed dying and reconnects when it is back', async () => {
    let feeder = await icecast.feed('live.mp3', 440, 'Test FM');
    await icecast.setTitle('live.mp3', 'Ann - First Song');
    const url = icecast.url('live.mp3');
    const cfg = path.join(dir, 'box.yaml');
    writeFileSync(cfg, `stations:\n  - name: Test FM\n    url: ${url}\n`);
    const alsa = makeFilePcmConfig(path.join(dir, 'alsa'), ['nc_radio']);
    box = await startBox(
      ['--config', cfg, '--source', `url:${url}`, '--codec', 'pcm', '--policy', 'open', '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'state')],
      { ALSA_CONFIG_PATH: alsa.configPath, NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw') },
      90_000,
    );
    const prefix = `nearcast/${box.boxId}/`;
    const watch = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'watch', protocolVersion: 4 });
    // biome-ignore lint/suspicious/noExplicitAny: JSON from MQTT, its shape is what the assertions check
    const events: Array<{ name: string; payload: Record<string, any> }> = [];
    // biome-ignore lint/suspicious/noExplicitAny: JSON from MQTT, its shape is what the assertions check
    let state: Record<string, any> = {};
    watch.on('message', (topic, p) => {
      const payload = JSON.parse(p.toString());
      if (topic === prefix + 'state') state = payload;
      else if (topic.startsWith(prefix + 'event/')) events.push({ name: topic.slice((prefix + 'event/').length), payload });
    });
    await watch.subscribeAsync([prefix + 'state', prefix + 'event/#']);
    const comp = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', 'radio', '--device', 'nc_radio', '--codec', 'pcm', '--json'], alsa.env);
    const outSize = () => {
      try {
        return statSync(alsa.outputs.nc_radio!).size;
      } catch {
        return 0;
      }
    };
    const seen = () => `state ${JSON.stringify(state)}\nevents ${JSON.stringify(events)}\ncompanion ${JSON.stringify(comp.status().at(-1))} ${comp.stderr.join(' | ')}`;
    let exitCode: number | null = null;
    let recoveredUntil = 0; // output frames written once 6 s had played since the reconnect (the old feed's buffered audio first)
    try {
      await waitFor('the companion playing', () => comp.status().some((s) => s.state === 'playing'), 20_000);
      await waitFor(`the station's title on state (${seen()})`, () => state.track?.title === 'First Song', 20_000).catch((e) => {
        throw new Error(`${e.message}\n${seen()}`);
      });
      expect(state.track, seen()).to.include({ title: 'First Song', artist: 'Ann', album: 'Test FM' });
      expect(state.source).to.equal(`url:${url}`);
      expect(state.sources, 'stations are offered by name').to.include('Test FM');
      expect(
        events.some((e) => e.name === 'track' && e.payload.track?.title === 'First Song'),
        seen(),
      ).to.equal(true);

      await icecast.setTitle('live.mp3', 'Bob - Second Song');
      await waitFor('the new title on state', () => state.track?.title === 'Second Song', 20_000).catch((e) => {
        throw new Error(`${e.message}\n${seen()}`);
      });
      expect(state.track.artist).to.equal('Bob');
      expect(
        events.some((e) => e.name === 'track' && e.payload.track?.title === 'Second Song'),
        seen(),
      ).to.equal(true);

      // the station's encoder dies: told, not silent
      await waitFor('2 s of the first feed played', () => outSize() > 3 * BYTES_PER_SECOND, 20_000);
      const connectsBefore = events.filter((e) => e.name === 'stream').length; // the first may have come before the watcher subscribed
      feeder.kill('SIGKILL');
      const error = await waitFor('event/error for the lost stream', () => events.find((e) => e.name === 'error'), 20_000).catch((e) => {
        throw new Error(`${e.message}\n${seen()}`);
      });
      expect(error.payload.source, seen()).to.equal(`url:${url}`);
      expect(error.payload.message, seen()).to.be.a('string').and.not.equal('');
      expect(error.payload.retryInMs, seen()).to.be.a('number').above(0);

      // it comes back with another tone: the box reconnects on its own
      feeder = await icecast.feed('live.mp3', 660, 'Test FM');
      const reconnected = await waitFor('event/stream connected again', () => events.filter((e) => e.name === 'stream')[connectsBefore], 40_000).catch((e) => {
        throw new Error(`${e.message}\n${seen()}`);
      });
      expect(reconnected.payload).to.deep.equal({ source: `url:${url}`, state: 'connected', station: 'Test FM', contentType: 'audio/mpeg' });
      const reconnectedAt = outSize();
      await waitFor('6 s more played after the reconnect', () => outSize() > reconnectedAt + 6 * BYTES_PER_SECOND, 40_000);
      recoveredUntil = outSize() / 4;
      expect(comp.status().at(-1)?.state, seen()).to.equal('playing');

      // the owner picks the station by its name
      const owner = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'owner1', username: 'owner', password: 'pw', protocolVersion: 4 });
      // biome-ignore lint/suspicious/noExplicitAny: JSON from MQTT, its shape is what the assertions check
      const replies: Array<Record<string, any>> = [];
      await owner.subscribeAsync(`${prefix}client/owner1/response/#`);
      owner.on('message', (_t, p) => replies.push(JSON.parse(p.toString())));
      await owner.publishAsync(`${prefix}client/owner1/request/source`, JSON.stringify({ source: 'Test FM' }));
      await waitFor('reply to source', () => replies.length > 0, 5000);
      expect(replies[0]).to.deep.include({ status: 'ok' });
      await waitFor('state source is the station', () => state.source === 'Test FM', 10_000);
      await waitFor('the station connected by name', () => events.some((e) => e.name === 'stream' && e.payload.source === 'Test FM'), 20_000);
      await owner.endAsync();
    } finally {
      await watch.endAsync();
      exitCode = await comp.interrupt();
    }
    expect(exitCode, `the companion's exit code (${comp.stderr.join(' | ')})`).to.equal(0);
    // what the companion played: the first feed's tone, and at the end the second's
    const out = readRaw(alsa.outputs.nc_radio!);
    const start = firstSound(out) / 2;
    expect(start, 'the companion played sound').to.be.greaterThan(-1);
    const first = toneMatch(out, start + 24000, 48000, 440);
    const lastFrame = Math.floor(recoveredUntil) - 72000; // 1.5 s before then: well after the reconnect
    // that second in ten 100 ms windows, each matched at its own phase: a loaded machine may put
    // a gap or a resync (a phase jump) into it, which spoils a window or two, not the tone
    const windows = Array.from({ length: 10 }, (_, k) => toneMatch(out, lastFrame + k * 4800, 4800, 660));
    const last = [...windows].sort((a, b) => a - b)[5]!;
    expect(first, `correlation of the first second of output with the 440 Hz feed (with 660 Hz: ${toneMatch(out, start + 24000, 48000, 660).toFixed(3)})`).to.be.above(0.9);
    expect(
      last,
      `median correlation of ten 100 ms windows of the output from 1.5 s before the end of the recovered stretch with the 660 Hz feed (each: ${windows.map((w) => w.toFixed(3)).join(' ')}; the second with 440 Hz: ${toneMatch(out, lastFrame, 48000, 440).toFixed(3)})`,
    ).to.be.above(0.9);
  });
});
