// The whole path on loopback: a real box process, real MQTT, real ffmpeg, and
// three `nearcast join` processes each playing through real libasound into an
// ALSA `file` PCM. What they wrote is compared with ffmpeg's own decode.

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { makeFilePcmConfig } from '../helpers/alsa-file-pcm.ts';
import { alignNear, windowedCorrelation, ffmpegDecode, firstSound, matchWithCorrections, readRaw } from '../helpers/audio-compare.ts';
import { runCompanion, startBox, waitFor, type BoxProcess, type CompanionProcess } from '../helpers/box-process.ts';
import { makeTestMusic, type TestTrack } from '../helpers/test-music.ts';
import { hashPassword } from '../../firmware/config/password.ts';
import { itemAt } from '../../firmware/util/checked-index.ts';
import type { Reply } from '../../firmware/wire/requests.ts';

const PLAY_MS = 4000;
/** the player's settling: it may correct up to 0.5 % of frames this long after its first sound (companion/player/scheduler.ts settleMs), then 0.1 % */
const SETTLE_MS = 3500;

async function playThree(box: BoxProcess, dir: string, codec: 'pcm' | 'opus', playMs = PLAY_MS) {
  const alsa = makeFilePcmConfig(path.join(dir, codec), ['nc_a', 'nc_b', 'nc_c']);
  const comps: CompanionProcess[] = [];
  for (const name of Object.keys(alsa.outputs)) {
    comps.push(runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', name, '--device', name, '--codec', codec, '--json'], alsa.env));
    await new Promise((r) => setTimeout(r, 300)); // staggered joins: each starts mid-stream
  }
  await waitFor('all three playing', () => comps.every((c) => c.status().some((s) => s.state === 'playing')), 15_000).catch((e: Error) => {
    throw new Error(`${e.message}: ${comps.map((c) => `[${c.stderr.slice(-5).join(' / ')} | ${JSON.stringify(c.status().at(-1) ?? null)}]`).join(' ')}`);
  });
  await new Promise((r) => setTimeout(r, playMs));
  return { alsa, comps };
}

describe('box end to end (real processes on loopback)', function () {
  this.timeout(120_000);
  let dir: string;
  let tracks: TestTrack[];
  let box: BoxProcess;
  let reference: Int16Array;
  // the box's own account (its engine's source underruns, CPU, memory), for what a failure prints
  let watcher: mqtt.MqttClient | null = null;
  let telemetry = 'none received';

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-e2e-'));
    tracks = makeTestMusic(path.join(dir, 'music'), 60); // long enough that the Opus test, on a loaded machine too, stays within the first song
    reference = ffmpegDecode(itemAt(tracks, 0, 'test music').file);
    box = await startBox(
      ['--music', path.join(dir, 'music'), '--box-id', 'e2e', '--policy', 'open', '--audio-device', 'none', '--state-dir', path.join(dir, 'state'), '--no-keyboard'],
      {
        NEARCAST_OWNER__PASSWORDHASH: hashPassword('s3cret'),
        NEARCAST_LOUDNESS__ENABLED: 'false', // the transport is sample-exact; loudness gain would change the samples on purpose (tested on its own)
        NEARCAST_TELEMETRY__INTERVALSECONDS: '2',
      },
    );
    watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'telemetry-watch', protocolVersion: 4 });
    watcher.on('message', (t, p) => {
      if (t.endsWith('/telemetry')) telemetry = p.toString();
    });
    await watcher.subscribeAsync('nearcast/e2e/telemetry');
    // the owner makes sure the first track plays (the library order is not the test's business)
    const c = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, '--user', 'owner', '--password', 's3cret', 'play', 'Moon River']);
    expect(await c.exited, c.stderr.join('\n')).to.equal(0);
    // until listeners hear it 1 s in (past the 400 ms latency: a join's fast-join backlog then holds only the new
    // song), as the box says: a loaded machine can take a while to start its decoder
    const replies: Array<{ data?: { track?: { title?: string } | null; positionMs?: number } }> = [];
    watcher.on('message', (t, p) => {
      if (t.includes('/response/')) replies.push(JSON.parse(p.toString()));
    });
    await watcher.subscribeAsync('nearcast/e2e/client/telemetry-watch/response/#');
    const heard = () => replies.at(-1)?.data;
    await waitFor(
      () => `the box playing Moon River 1 s in (it says ${JSON.stringify(heard())})`,
      () => {
        void watcher?.publishAsync('nearcast/e2e/client/telemetry-watch/request/status', '{}');
        return heard()?.track?.title === 'Moon River' && (heard()?.positionMs ?? 0) >= 1000;
      },
      20_000,
      200,
    );
  });

  after(async () => {
    await watcher?.endAsync();
    if (box) expect(await box.stop()).to.equal(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it("PCM: three companions write exactly ffmpeg's decode of the source (apart from ≤ 0.1 % single-frame corrections), and leave cleanly", async () => {
    const { alsa, comps } = await playThree(box, dir, 'pcm');
    for (const c of comps) expect(await c.interrupt()).to.equal(0);
    const outs = Object.values(alsa.outputs).map(readRaw);
    const spans: Array<[number, number]> = [];
    // The samples are compared from 1 s after the first sound. A machine that stalls the
    // companion longer than its device queue in the first moments makes the device run dry
    // and the companion resync (as it should); within that first half second it changes
    // nothing compared here. Any later resync fails.
    for (const c of comps) {
      const resyncs = c.stderr.filter((l) => l.startsWith('resync:'));
      const late = resyncs.filter((l) => Number(/(\d+) ms after playback started/.exec(l)?.[1] ?? Infinity) > 500);
      expect(late, `resyncs later than 0.5 s into playback (${c.stderr.join(' / ')})`).to.deep.equal([]);
      expect(c.status().at(-1)?.resyncs, `resyncs counted vs reported (${resyncs.join(' / ')})`).to.equal(resyncs.length);
    }
    for (const [k, out] of outs.entries()) {
      // from 0.5 s in: a companion that joins right after the song change first hears
      // the old song's last FIFO chunks, which are not in this reference. Probes 10 ms apart
      // over 0.5 s: one that straddles a single-frame correction (frequent while a loaded
      // player settles) does not match, the next clean one does
      const sound = firstSound(out);
      const { at, start } = alignNear(reference, out, sound + 48000, 50);
      const probed = out.subarray(sound + 48000, sound + 96000);
      const silentFrames = probed.filter((v, i) => i % 2 === 0 && v === 0 && probed[i + 1] === 0).length;
      const peak = probed.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      const measured = `output ${k}: ${(out.length / 96000).toFixed(2)} s written, first sound at ${(sound / 96000).toFixed(3)} s, 0.5–1 s after it peak ${peak} and ${silentFrames} silent frames; companion ${JSON.stringify(comps[k]?.status().at(-1))}; box telemetry ${telemetry}`;
      expect(at, `no 128-frame probe from 0.5 s to 1 s after the first sound found in the ${(reference.length / 96000).toFixed(2)} s source; ${measured}`).to.be.greaterThan(-1);
      const n = Math.min(out.length - start, reference.length - at);
      expect(n / 96000, `seconds compared; ${measured}`).to.be.greaterThan(2);
      // every frame is the source's, in order; a soft correction (a frame dropped or repeated) shows as a realignment
      const m = matchWithCorrections(reference, at, out, start, n / 2 - 8);
      expect(m.unmatched, `frames matching no source frame (${JSON.stringify(m)}); ${measured}`).to.equal(0);
      expect(m.realignments, `single-frame corrections in ${m.compared} frames`).to.be.at.most(1 + 0.001 * m.compared);
      spans.push([at, at + n]);
    }
    // they heard one shared stretch of the song
    const shared = Math.min(...spans.map((s) => s[1])) - Math.max(...spans.map((s) => s[0]));
    expect(shared).to.be.greaterThan(48000 * 2 * 2);
    for (const c of comps) {
      const last = c.status().at(-1)!;
      expect(last.underruns, 'underruns').to.equal(0);
      expect(c.stderr.join('\n')).to.contain('left the box');
    }
  });

  it("Opus: each companion's output correlates with the source at ≥ 0.99", async () => {
    const { alsa, comps } = await playThree(box, dir, 'opus', PLAY_MS + SETTLE_MS);
    for (const c of comps) expect(await c.interrupt()).to.equal(0);
    const outs = Object.values(alsa.outputs).map(readRaw);
    for (const [i, out] of outs.entries()) {
      // 100 ms windows once the player has settled, each re-aligned within 1 ms of the
      // previous: the player's inaudible single-frame corrections (≤ 0.1 %) shift the waveform
      // by a frame or two. In its first 3 s it may correct 0.5 % (a start that a loaded
      // machine made late by a few ms): 24 frames within one window, which smears it.
      const at: number[] = [];
      const rs = windowedCorrelation(reference, out, firstSound(out) / 2 + (48000 * SETTLE_MS) / 1000, 4800, 30, 48, at);
      const c = comps[i]!;
      // each window's place in the source against the first's, frames: a step is a skip in what was played
      const moves = at.map((f, k) => f - (at[0] ?? 0) - k * 4800).join(' ');
      const what = `windows ${rs.map((r) => r.toFixed(3)).join(' ')}; their place in the source from the first's (frames) ${moves}; companion ${JSON.stringify(c.status().at(-1) ?? null)}; log: ${c.stderr.join(' / ')}; box telemetry ${telemetry}`;
      expect(rs.length, `windows within the first song (it is 60 s long); ${what}`).to.be.at.least(25);
      expect(Math.min(...rs), `worst of ${rs.length} windows: ${what}`).to.be.at.least(0.99);
    }
  });

  it("the box process enforces the topic rules: no reading others' replies, no writing box topics", async () => {
    const spy = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'spy', protocolVersion: 4, reconnectPeriod: 0 });
    const refused = await spy.subscribeAsync('nearcast/e2e/client/fuzzer/response/+').then(
      () => false,
      (e) => e.packet?.granted?.[0] === 128 || (e.packet?.granted?.[0] as { qos?: number })?.qos === 128,
    );
    expect(refused, "subscription to another client's replies refused").to.equal(true);
    const closed = new Promise<void>((r) => spy.once('close', () => r()));
    spy.publish('nearcast/e2e/state', '{"state":"hacked"}', { qos: 1, retain: true });
    await closed;
    const reader = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'reader', protocolVersion: 4 });
    const state = new Promise<string>((r) => reader.once('message', (_t, p) => r(p.toString())));
    await reader.subscribeAsync('nearcast/e2e/state');
    expect(JSON.parse(await state).state).to.not.equal('hacked');
    await reader.endAsync();
  });

  it('malformed requests on every topic get errors while listeners play without underruns', async () => {
    const alsa = makeFilePcmConfig(path.join(dir, 'fuzz'), ['nc_f']);
    const comp = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--device', 'nc_f', '--json'], alsa.env);
    await waitFor('playing', () => comp.status().some((s) => s.state === 'playing'), 15_000);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'fuzzer', protocolVersion: 4 });
    const replies: Array<{ topic: string; body: Reply }> = [];
    client.on('message', (topic, p) => replies.push({ topic, body: JSON.parse(p.toString()) as Reply }));
    await client.subscribeAsync('nearcast/e2e/client/fuzzer/response/#');
    const ops = ['join', 'leave', 'status', 'search', 'play', 'enqueue', 'queue', 'control', 'volume', 'approve', 'deny'];
    const bad = ['{not json', '[]', '"text"', '{"unknownField":1}', '{"query":42,"volume":"loud","action":7,"clientId":[]}'];
    let sent = 0;
    for (const op of ops)
      for (const p of bad) {
        await client.publishAsync(`nearcast/e2e/client/fuzzer/request/${op}`, p);
        sent++;
      }
    await client.publishAsync('nearcast/e2e/client/fuzzer/request/selfdestruct', '{}');
    sent++;
    await waitFor('every reply', () => replies.length >= sent, 10_000);
    expect(replies.every((r) => r.body.status === 'error' && typeof r.body.error === 'string' && r.body.error.length > 5)).to.equal(true);
    expect(replies.find((r) => r.topic.endsWith('/response/selfdestruct'))!.body.error).to.contain("unknown operation 'selfdestruct'");
    expect(replies.find((r) => r.topic.endsWith('/response/search'))!.body.error).to.match(/malformed JSON|must be|unknown field/);
    await new Promise((r) => setTimeout(r, 1500));
    // the retained listeners topic shows the listener's own measurement of its playout
    let latest: Array<Record<string, unknown>> = [];
    client.on('message', (t, p) => {
      if (t.endsWith('/listeners')) latest = JSON.parse(p.toString());
    });
    await client.subscribeAsync('nearcast/e2e/listeners');
    const l = await waitFor('a listener report', () => latest.find((x) => x.connected && typeof x.syncErrorMs === 'number'), 8000);
    expect(l?.syncErrorMs, 'reported sync error').to.be.a('number');
    expect(Math.abs(l!.syncErrorMs as number), `reported sync error; listener ${JSON.stringify(l)}`).to.be.below(5);
    expect(l?.underruns, `underruns in the listener report; listener ${JSON.stringify(l)}; box telemetry ${telemetry}`).to.equal(0);
    await client.endAsync();
    expect(await comp.interrupt()).to.equal(0);
    const last = comp.status().at(-1);
    expect(last?.underruns, `underruns at the end; companion ${JSON.stringify(last)}; log: ${comp.stderr.join(' / ')}; box telemetry ${telemetry}`).to.equal(0);
  });
});

describe('join under policy button (real box process)', function () {
  this.timeout(90_000);
  let dir: string;
  let box: BoxProcess;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-button-'));
    makeTestMusic(path.join(dir, 'music'), 8);
    box = await startBox(['--music', path.join(dir, 'music'), '--box-id', 'btn', '--audio-device', 'none', '--state-dir', path.join(dir, 'state')], {
      NEARCAST_HARDWARE__KEYBOARD: 'true',
      NEARCAST_HARDWARE__SIM: 'true',
    });
  });
  after(async () => {
    if (box) await box.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function nowPlaying(): Promise<string> {
    const c = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'status', '--json']);
    await c.exited;
    return JSON.parse(c.stdout.join('')).track?.title;
  }

  async function pendingJoins(): Promise<number> {
    const c = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'status', '--json']);
    await c.exited;
    return JSON.parse(c.stdout.join('')).pending;
  }

  it('a join nobody approves gives up after --wait seconds, saying why, and the box forgets it', async () => {
    const alsa = makeFilePcmConfig(path.join(dir, 'w'), ['nc_w']);
    const comp = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', 'patient', '--device', 'nc_w', '--wait', '5', '--json'], alsa.env);
    await waitFor('pending message', () => comp.stderr.some((l) => l.includes('waiting for the owner')), 10_000);
    expect(await pendingJoins(), 'the box holds the pending join').to.equal(1);
    const code = await Promise.race([comp.exited, new Promise((r) => setTimeout(() => r('still running after 20 s'), 20_000))]);
    const said = [...comp.stdout, ...comp.stderr].join('\n');
    expect(code, said).to.be.a('number').and.not.equal(0);
    expect(said).to.contain('nobody approved the join within 5 s');
    let pending = -1;
    for (let i = 0; i < 20 && pending !== 0; i++) {
      pending = await pendingJoins();
      if (pending !== 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(pending, 'pending joins on the box after the give-up').to.equal(0);
  });

  it('a misspelt song in a pending join plays once the share button is pressed', async () => {
    const alsa = makeFilePcmConfig(path.join(dir, 'b'), ['nc_b']);
    const comp = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--song', 'mon rivr', '--device', 'nc_b', '--json'], alsa.env);
    await waitFor('pending message', () => comp.stderr.some((l) => l.includes('waiting for the owner')), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(comp.status().length, 'no audio while pending').to.equal(0);
    box.press('share');
    await waitFor('playing after the button', () => comp.status().some((s) => s.state === 'playing'), 10_000);
    let title = '';
    for (let i = 0; i < 20 && title !== 'Moon River'; i++) {
      title = await nowPlaying();
      if (title !== 'Moon River') await new Promise((r) => setTimeout(r, 250));
    }
    expect(title).to.equal('Moon River');
    expect(await comp.interrupt()).to.equal(0);
  });

  it('an accent-free song name picks the accented title (window open)', async () => {
    box.press('share'); // nothing pending: opens the share window
    const alsa = makeFilePcmConfig(path.join(dir, 'c'), ['nc_c']);
    const comp = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--song', 'cafe ole', '--device', 'nc_c', '--json'], alsa.env);
    await waitFor('playing', () => comp.status().some((s) => s.state === 'playing'), 10_000);
    expect(comp.stderr.join('\n')).to.contain('playing your song: Café Olé');
    expect(await comp.interrupt()).to.equal(0);
  });
});
