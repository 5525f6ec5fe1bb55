// Announcements on a real box: text spoken by the real espeak-ng after a chime, mixed
// over the music while it ducks; a second one queues behind the first; both are in
// the play log. What is measured is the stream every listener receives (a PCM
// listener on the real stream port, chunk by chunk): the mixing happens before the
// FIFO, so this is what every companion and the box's speaker play, and playing the
// stream sample-exactly is what the box-e2e tests prove.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { hashPassword } from '../../firmware/config/password.ts';
import { localDay, readDays } from '../../firmware/util/daily-log.ts';
import { startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { probeStream, type StreamProbe } from '../helpers/stream-probe.ts';

const RATE = 48_000;
const WINDOW = 960; // 20 ms

/** the magnitude of `hz` in each 20 ms window of the left channel (Goertzel), as a fraction of a full-scale sine */
function toneLevels(pcm: Int16Array, hz: number): number[] {
  const levels: number[] = [];
  const coefficient = 2 * Math.cos((2 * Math.PI * hz) / RATE);
  for (let start = 0; start + WINDOW <= pcm.length / 2; start += WINDOW) {
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < WINDOW; i++) {
      const s0 = pcm[(start + i) * 2]! / 32768 + coefficient * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    levels.push((2 * Math.sqrt(Math.max(0, s1 * s1 + s2 * s2 - coefficient * s1 * s2))) / WINDOW);
  }
  return levels;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const db = (ratio: number) => 20 * Math.log10(ratio);

describe('announcements (real box, real espeak-ng)', function () {
  this.timeout(120_000);
  let dir: string;
  let box: BoxProcess | null = null;
  let listener: StreamProbe | null = null;
  let owner: mqtt.MqttClient | null = null;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-announce-'));
  });
  afterEach(async () => {
    await owner?.endAsync();
    await listener?.close();
    if (box) await box.stop();
    owner = null;
    listener = null;
    box = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('the music ducks 12 dB over ~300 ms, the chime then the voice play over it, the music comes back; a second one waits its turn', async () => {
    const stateDir = path.join(dir, 'state');
    box = await startBox(['--box-id', 'an', '--source', 'tone:440', '--audio-device', 'none', '--policy', 'open', '--state-dir', stateDir], {
      NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
    });
    // a PCM listener keeping every chunk by sequence number
    listener = await probeStream(box.ports.mqtt);
    const chunks = listener.chunks;
    await waitFor('the stream flowing', () => chunks.size > 25, 20_000);

    owner = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { protocolVersion: 4, clientId: 'me', username: 'owner', password: 'pw' });
    const replies: Array<{ status: string; transaction?: number; error?: string; data?: { ahead?: number } }> = [];
    const told: Array<{ state: string; title: string }> = [];
    owner.on('message', (topic, payload) => (topic.includes('/response/') ? replies : told).push(JSON.parse(payload.toString())));
    await owner.subscribeAsync(['nearcast/an/client/me/response/#', 'nearcast/an/event/announcement']);
    await new Promise((r) => setTimeout(r, 1500)); // music before the announcement, to measure its level
    owner.publish('nearcast/an/client/me/request/announce', JSON.stringify({ text: 'Attention please. The shop closes in ten minutes.', transaction: 1 }));
    owner.publish('nearcast/an/client/me/request/announce', JSON.stringify({ text: 'Thank you.', chime: false, duckDb: 20, transaction: 2 }));
    owner.publish('nearcast/an/client/me/request/announce', JSON.stringify({ file: '/etc/passwd', transaction: 3 }));
    await waitFor('both announcements done', () => told.filter((t) => t.state === 'done').length === 2, 40_000, 100);
    await new Promise((r) => setTimeout(r, 1500)); // the music back, and the latency past
    const byTransaction = (t: number) => replies.find((r) => r.transaction === t);
    expect(byTransaction(1), JSON.stringify(replies)).to.deep.include({ status: 'ok' });
    expect(byTransaction(2)?.data?.ahead, JSON.stringify(replies)).to.equal(1);
    expect(byTransaction(3)?.error, JSON.stringify(replies)).to.match(/must be in the library/);
    const sequence = told.map((t) => `${t.title.slice(0, 9)} ${t.state}`);
    // each is queued, starts and ends in turn; the second starts only once the first is done
    expect(
      sequence.filter((s) => s.startsWith('Attention')),
      sequence.join(', '),
    ).to.deep.equal(['Attention queued', 'Attention started', 'Attention done']);
    expect(
      sequence.filter((s) => s.startsWith('Thank you')),
      sequence.join(', '),
    ).to.deep.equal(['Thank you queued', 'Thank you started', 'Thank you done']);
    expect(sequence.indexOf('Thank you started'), sequence.join(', ')).to.be.greaterThan(sequence.indexOf('Attention done'));
    const seqs = [...chunks.keys()].sort((a, b) => a - b);
    const missing = seqs.at(-1)! - seqs[0]! + 1 - seqs.length;
    expect(missing, 'chunks missing from the stream').to.equal(0);
    const pcm = new Int16Array(seqs.length * 960 * 2);
    seqs.forEach((seq, i) => {
      pcm.set(chunks.get(seq)!.subarray(0, 960 * 2), i * 960 * 2);
    });
    const music = toneLevels(pcm, 440);
    const chime = toneLevels(pcm, 660);
    const first = music.findIndex((v) => v > 0.2);
    expect(first, 'the tone reached the companion').to.be.greaterThan(-1);
    const full = median(music.slice(first + 10, first + 50));
    expect(full, `music level ${full.toFixed(3)} (tone:440 at 0.25)`).to.be.within(0.22, 0.28);
    // the first announcement: the duck, then the chime under which the music sits 12 dB down
    const duckStart = music.findIndex((v, i) => i > first + 50 && v < 0.9 * full);
    const chimeAt = chime.findIndex((v, i) => i > duckStart && v > 0.1);
    expect(duckStart, 'the music ducked').to.be.greaterThan(first);
    expect(chimeAt, `chime ${chimeAt} after duck start ${duckStart}`).to.be.greaterThan(duckStart);
    const rampWindows = music.findIndex((v, i) => i > duckStart && v < 0.3 * full) - duckStart;
    // a straight ramp of 300 ms over the whole swing (1 → 0.25) takes 240 ms from 0.9 to 0.3, seen through 20 ms windows
    expect(
      rampWindows * 20,
      `the duck took ${rampWindows * 20} ms; 440 Hz levels from ${duckStart - 3}: ${music
        .slice(duckStart - 3, duckStart + 25)
        .map((v) => v.toFixed(3))
        .join(' ')}`,
    ).to.be.within(150, 400);
    const underChime = median(music.slice(chimeAt + 2, chimeAt + 10));
    expect(db(underChime / full), `music under the chime: ${db(underChime / full).toFixed(1)} dB`).to.be.within(-13.5, -10.5);
    // the voice: the music stays down until both are over, the second 20 dB down, then returns
    const back = music.findIndex((v, i) => i > chimeAt && v > 0.9 * full);
    const ducked = music.slice(chimeAt, back);
    expect(ducked.length * 20, `ducked for ${ducked.length * 20} ms`).to.be.within(2_500, 15_000);
    const deepest = Math.min(...ducked);
    expect(db(deepest / full), `deepest duck ${db(deepest / full).toFixed(1)} dB (second announcement: 20 dB)`).to.be.below(-17);
    expect(median(music.slice(back + 5, back + 40)) / full, 'the music returned to its level').to.be.within(0.95, 1.05);

    const log = readDays(path.join(stateDir, 'playlog'), localDay(new Date(Date.now() - 86_400_000)), localDay(new Date())) as Array<{ kind: string; title: string }>;
    expect(log.filter((l) => l.kind === 'announcement').map((l) => l.title)).to.deep.equal(['Attention please. The shop closes in ten minutes.', 'Thank you.']);
  });

  it('an announcement from an http URL is fetched and heard over the ducked music; a file: URL is refused', async () => {
    const news = path.join(dir, 'news.wav');
    execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=1000:duration=1.5:sample_rate=48000', '-ac', '2', news]);
    const server = http.createServer((_, res) => res.writeHead(200, { 'content-type': 'audio/wav' }).end(readFileSync(news)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      box = await startBox(['--box-id', 'an', '--source', 'tone:440', '--audio-device', 'none', '--policy', 'open', '--state-dir', path.join(dir, 'state')], {
        NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
      });
      listener = await probeStream(box.ports.mqtt);
      const chunks = listener.chunks;
      await waitFor('the stream flowing', () => chunks.size > 25, 20_000);
      owner = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { protocolVersion: 4, clientId: 'me', username: 'owner', password: 'pw' });
      const replies: Array<{ status: string; transaction?: number; error?: string }> = [];
      const told: Array<{ state: string; title: string; error?: string }> = [];
      owner.on('message', (topic, payload) => (topic.includes('/response/') ? replies : told).push(JSON.parse(payload.toString())));
      await owner.subscribeAsync(['nearcast/an/client/me/response/#', 'nearcast/an/event/announcement']);
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/news.wav`;
      owner.publish('nearcast/an/client/me/request/announce', JSON.stringify({ url, chime: false, transaction: 1 }));
      owner.publish('nearcast/an/client/me/request/announce', JSON.stringify({ url: 'file:///etc/passwd', transaction: 2 }));
      await waitFor('the announcement over', () => told.some((t) => t.state === 'done' || t.state === 'failed'), 30_000, 100);
      await new Promise((r) => setTimeout(r, 1000)); // the latency past
      expect(told.map((t) => `${t.title} ${t.state}${t.error ? `: ${t.error}` : ''}`)).to.deep.equal(['news.wav queued', 'news.wav started', 'news.wav done']);
      expect(replies.find((r) => r.transaction === 2)?.error, JSON.stringify(replies)).to.match(/must be http or https, not file:/);
      const seqs = [...chunks.keys()].sort((a, b) => a - b);
      const pcm = new Int16Array(seqs.length * 960 * 2);
      for (const [i, seq] of seqs.entries()) pcm.set(chunks.get(seq)!.subarray(0, 960 * 2), i * 960 * 2);
      const voice = toneLevels(pcm, 1000);
      const heard = voice.filter((v) => v > 0.05).length; // ffmpeg's sine is at 1/8 of full scale
      expect(heard * 20, `ms of the fetched 1000 Hz announcement in the stream (max level ${Math.max(...voice).toFixed(3)})`).to.be.within(1200, 1800);
    } finally {
      server.close();
    }
  });
});
