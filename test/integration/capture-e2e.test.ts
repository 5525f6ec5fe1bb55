// Live input end to end: a real box process capturing through libasound (an ALSA
// `file` PCM whose `infile` is the "line-in"), a real companion playing the stream
// into an ALSA `file` PCM, and the owner switching sources over MQTT.

import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { makeFilePcmConfig } from '../helpers/alsa-file-pcm.ts';
import { alignNear, ffmpegDecode, firstSound, matchWithCorrections, readRaw } from '../helpers/audio-compare.ts';
import { runCompanion, startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { makeTestMusic } from '../helpers/test-music.ts';
import { hashPassword } from '../../firmware/config/password.ts';
import { itemAt } from '../../firmware/util/checked-index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live input through ALSA capture (real box and companion processes)', function () {
  this.timeout(120_000);
  let dir: string;
  let lineIn: Int16Array; // what the "line-in" delivers
  let box: BoxProcess | null = null;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-capture-'));
    const tracks = makeTestMusic(path.join(dir, 'music'), 20);
    lineIn = ffmpegDecode(itemAt(tracks, 1, 'test music').file);
    writeFileSync(path.join(dir, 'line-in.raw'), new Uint8Array(lineIn.buffer, lineIn.byteOffset, lineIn.byteLength));
  });
  afterEach(async () => {
    if (box) expect(await box.stop()).to.equal(0);
    box = null;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function collectEvents(url: string, boxId: string) {
    const events: Array<{ topic: string; payload: Record<string, unknown> }> = [];
    const c = mqtt.connect(url, { clientId: `watch-${Date.now()}`, protocolVersion: 4 });
    c.on('connect', () => c.subscribe(`nearcast/${boxId}/event/#`));
    c.on('message', (topic, p) => events.push({ topic, payload: JSON.parse(p.toString()) }));
    return { events, close: () => c.end(true) };
  }

  it('a companion plays the captured input sample-exactly (PCM codec), through a 120 ms hold-up of the box', async () => {
    const alsa = makeFilePcmConfig(path.join(dir, 'exact'), ['nc_out'], { nc_in: path.join(dir, 'line-in.raw') });
    box = await startBox(
      ['--source', 'capture:nc_in', '--codec', 'pcm', '--policy', 'open', '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'exact', 'state')],
      { ALSA_CONFIG_PATH: alsa.configPath },
    );
    const comp = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', 'cap', '--device', 'nc_out', '--codec', 'pcm', '--json'], alsa.env);
    await waitFor('playing', () => comp.status().some((s) => s.state === 'playing'), 15_000);
    await sleep(1500);
    // the machine holds the box up (its event loop, its capture reads, its engine): within the latency, nothing is lost.
    // Once the paced capture's catch-up read ran past the `file` plugin's buffer and came back silent (the input
    // shifted for good), and the engine sent the held-up slots before their frames were read.
    box.proc.kill('SIGSTOP');
    await sleep(120);
    box.proc.kill('SIGCONT');
    await sleep(2500);
    expect(await comp.interrupt()).to.equal(0);
    const out = readRaw(alsa.outputs.nc_out);
    const last = comp.status().at(-1);
    const boxWarnings = box.logs.filter((l) => /"level":"(warn|error)"|ALSA lib/.test(l)).join(' / ');
    const sound = firstSound(out);
    const { at, start } = alignNear(lineIn, out, sound + 48000); // from 0.5 s in
    if (at < 0) {
      // what was played instead: where, if anywhere, the output first matches the input exactly (10 ms probes over all of
      // it), and the probed stretch's level (silence, or sound that is not the input's samples: resampled, shifted, other)
      const anywhere = alignNear(lineIn, out, sound, Math.floor((out.length - sound) / 960) - 1);
      const probed = out.subarray(sound + 48000, sound + 48000 + 19200);
      const silent = probed.filter((v, i) => i % 2 === 0 && v === 0 && probed[i + 1] === 0).length;
      const peak = probed.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      expect.fail(
        `the output is not found in the captured input from 0.5 s to 0.7 s after its first sound (output ${out.length / 2} frames, first sound at sample ${sound} = frame ${sound / 2}; that stretch: peak ${peak}, ${silent} silent frames of 9600; the first exact match anywhere: ${anywhere.at < 0 ? 'none' : `output frame ${anywhere.start / 2} = input frame ${anywhere.at / 2}`}; companion ${JSON.stringify(last)}; ${comp.stderr.join(' / ')}; box warnings: ${boxWarnings || 'none'})`,
      );
    }
    const n = Math.min(out.length - start, lineIn.length - at);
    expect(n, 'samples compared').to.be.greaterThan(48000 * 2 * 2); // ≥ 2 s
    // every frame is the line-in's, in order; a soft correction (a frame dropped or repeated) shows as a realignment
    const m = matchWithCorrections(lineIn, at, out, start, n / 2 - 8);
    expect(m.unmatched, `frames matching no captured frame (${JSON.stringify(m)}; companion ${JSON.stringify(last)}; box warnings: ${boxWarnings || 'none'})`).to.equal(0);
    expect(m.realignments, `single-frame corrections in ${m.compared} frames (companion ${JSON.stringify(last)})`).to.be.at.most(1 + 0.001 * m.compared);
    expect(last?.resyncs, `resyncs (companion ${JSON.stringify(last)}; ${comp.stderr.join(' / ')})`).to.equal(0);
  });

  it('a capture PCM that cannot be opened is reported and retried while listeners keep their stream', async () => {
    const alsa = makeFilePcmConfig(path.join(dir, 'missing'), ['nc_out2']);
    box = await startBox(['--source', 'capture:nc_no_such_pcm', '--policy', 'open', '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'missing', 'state')], {
      ALSA_CONFIG_PATH: alsa.configPath,
    });
    const watch = collectEvents(`mqtt://127.0.0.1:${box.ports.mqtt}`, box.boxId);
    const comp = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', 'l', '--device', 'nc_out2', '--json'], alsa.env);
    let exit: number | null = null;
    try {
      await waitFor('playing', () => comp.status().some((s) => s.state === 'playing'), 15_000);
      await waitFor('two retries reported', () => watch.events.filter((e) => e.topic.endsWith('/event/error')).length >= 2, 10_000);
      const errs = watch.events.filter((e) => e.topic.endsWith('/event/error')).map((e) => e.payload);
      expect(errs[0]).to.include({ source: 'capture:nc_no_such_pcm', device: 'nc_no_such_pcm' });
      expect(errs[0]?.message).to.match(/snd_pcm_open failed/);
      expect(errs[1]?.retryInMs as number).to.be.greaterThan(errs[0]?.retryInMs as number);
      await sleep(1000);
      const last = comp.status().at(-1)!;
      expect(last.state).to.equal('playing');
      expect(last.underruns).to.equal(0); // silence keeps flowing
    } finally {
      watch.close();
      // asserted after: a throw here would replace the failure that printed what was measured
      exit = await comp.interrupt();
    }
    expect(exit, 'the companion exit code').to.equal(0);
  });

  it('the owner switches library → capture → library over MQTT; the listener stays connected and in time', async () => {
    const alsa = makeFilePcmConfig(path.join(dir, 'switch'), ['nc_out3'], { nc_in2: path.join(dir, 'line-in.raw') });
    const cfg = path.join(dir, 'switch', 'box.yaml');
    writeFileSync(cfg, 'sources: [capture:nc_in2]\n');
    box = await startBox(
      [
        '--config',
        cfg,
        '--music',
        path.join(dir, 'music'),
        '--policy',
        'open',
        '--codec',
        'pcm',
        '--audio-device',
        'none',
        '--no-keyboard',
        '--state-dir',
        path.join(dir, 'switch', 'state'),
      ],
      { ALSA_CONFIG_PATH: alsa.configPath, NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'), NEARCAST_LOUDNESS__ENABLED: 'false' },
    );
    const comp = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', 'sw', '--device', 'nc_out3', '--codec', 'pcm', '--json'], alsa.env);
    const owner = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'owner1', username: 'owner', password: 'pw', protocolVersion: 4 });
    const replies: Array<Record<string, unknown>> = [];
    await owner.subscribeAsync(`nearcast/${box.boxId}/client/owner1/response/#`);
    owner.on('message', (_t, p) => replies.push(JSON.parse(p.toString())));
    const select = async (source: string) => {
      const n = replies.length;
      await owner.publishAsync(`nearcast/${box!.boxId}/client/owner1/request/source`, JSON.stringify({ source }));
      await waitFor(`reply to source ${source}`, () => replies.length > n, 5000);
      return replies[n];
    };
    try {
      await waitFor('playing', () => comp.status().some((s) => s.state === 'playing'), 15_000);
      await sleep(1500);
      expect(await select('capture:nc_in2')).to.deep.include({ status: 'ok', data: { source: 'capture:nc_in2', sources: ['library', 'capture:nc_in2'] } });
      // the capture opens on a worker and its clock needs a few readings: on a loaded machine that takes a while
      await sleep(4000);
      const framesNow = statSync(alsa.outputs.nc_out3).size / 4;
      expect(await select('library')).to.deep.include({ status: 'ok' });
      await sleep(1500);
      expect(await comp.interrupt()).to.equal(0);
      const out = readRaw(alsa.outputs.nc_out3);
      // written ~1 s before the switch back, so heard well inside the capture period
      const { at, start: probe } = alignNear(lineIn, out, (framesNow - 48000) * 2);
      expect(at, 'the capture reached the listener').to.be.greaterThan(-1);
      const m = matchWithCorrections(lineIn, at, out, probe, 24000);
      expect(m.unmatched, `half a second of capture, exact but for single-frame corrections (${JSON.stringify(m)})`).to.equal(0);
      const last = comp.status().at(-1)!;
      expect(last).to.include({ resyncs: 0, underruns: 0, restarts: 0 }); // one connection, one timeline
    } finally {
      await owner.endAsync();
    }
  });
});
