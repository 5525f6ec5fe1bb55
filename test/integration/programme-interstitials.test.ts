// Interstitials on a real box: jingles brought to their own loudness target (measured on
// the stream every listener receives), and news fetched from an http URL served on
// loopback, heard, announced and logged as what it is.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { hashPassword } from '../../firmware/config/password.ts';
import type { PlayedItem } from '../../firmware/extensions/play-log.ts';
import { localDay, readDays } from '../../firmware/util/daily-log.ts';
import { startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { probeStream, type StreamProbe } from '../helpers/stream-probe.ts';

function sine(file: string, hz: number, amplitude: number, seconds: number, title: string): void {
  execFileSync('ffmpeg', [
    '-nostdin',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `aevalsrc=${amplitude}*sin(2*PI*${hz}*t)|${amplitude}*sin(2*PI*${hz}*t):s=48000:d=${seconds}`,
    '-metadata',
    `title=${title}`,
    file,
  ]);
}

const rmsDb = (pcm: Int16Array) => {
  let sum = 0;
  for (const v of pcm) sum += (v / 32768) ** 2;
  return 10 * Math.log10(sum / pcm.length);
};
/** zero crossings of the left channel: a 20 ms chunk of 440 Hz has ~18, of 880 Hz ~35 */
const crossings = (pcm: Int16Array) => {
  let count = 0;
  for (let i = 2; i < pcm.length; i += 2) if (pcm[i - 2]! < 0 !== pcm[i]! < 0) count++;
  return count;
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

describe('programme interstitials (real box)', function () {
  this.timeout(120_000);
  let dir: string;
  let box: BoxProcess | null = null;
  let probe: StreamProbe | null = null;
  let client: mqtt.MqttClient | null = null;
  let server: http.Server | null = null;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-interstitials-'));
  });
  afterEach(async () => {
    await probe?.close();
    await client?.endAsync();
    if (box) await box.stop();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    probe = null;
    client = null;
    box = null;
    server = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('jingles stream at loudness.interstitialTargetLufs, songs at loudness.targetLufs', async () => {
    const music = path.join(dir, 'music');
    mkdirSync(path.join(music, 'songs'), { recursive: true });
    mkdirSync(path.join(music, 'jingles'), { recursive: true });
    // made at the same level: only the two targets set them 10 dB apart
    sine(path.join(music, 'songs', 'song.flac'), 440, 0.1, 3, 'Song');
    sine(path.join(music, 'jingles', 'jingle.flac'), 880, 0.1, 3, 'Jingle');
    const config = path.join(dir, 'box.yaml');
    writeFileSync(
      config,
      [
        'loudness: { targetLufs: -26, interstitialTargetLufs: -16 }',
        'programme:',
        '  playlists: [{ id: songs, items: [{ folder: songs }] }]',
        '  interstitials: [{ id: ding, source: { folder: jingles }, everySongs: 1 }]',
        '',
      ].join('\n'),
    );
    box = await startBox(['--config', config, '--box-id', 'il', '--music', music, '--audio-device', 'none', '--policy', 'open', '--state-dir', path.join(dir, 'state')], {
      NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
    });
    probe = await probeStream(box.ports.mqtt);
    await waitFor('both files measured', () => box!.logs.some((l) => l.includes('"loudness measured"') && l.includes('"tracks":2')), 30_000, 100);
    const measuredAt = Math.max(0, ...probe.chunks.keys());
    // items opened after the measurement: from 5 s on (the next item is opened 3 s ahead), 8 s of them
    const from = measuredAt + 250;
    await waitFor('8 s of stream after the measurement', () => Math.max(0, ...probe!.chunks.keys()) > from + 400, 30_000, 100);
    const songs: number[] = [];
    const jingles: number[] = [];
    for (const [seq, pcm] of probe.chunks) {
      if (seq < from || rmsDb(pcm) < -60) continue;
      const zc = crossings(pcm);
      if (zc >= 15 && zc <= 20) songs.push(rmsDb(pcm));
      else if (zc >= 32 && zc <= 38) jingles.push(rmsDb(pcm));
    }
    expect(songs.length, `song chunks ${songs.length}, jingle chunks ${jingles.length}`).to.be.at.least(50);
    expect(jingles.length, `song chunks ${songs.length}, jingle chunks ${jingles.length}`).to.be.at.least(50);
    const [song, jingle] = [median(songs), median(jingles)];
    // sines carry a fraction of a dB of K-weighting, which differs a little between 440 and 880 Hz
    expect(jingle - song, `songs ${song.toFixed(2)} dB RMS, jingles ${jingle.toFixed(2)} dB RMS`).to.be.within(8.5, 11.5);
    expect(song, `songs at ${song.toFixed(2)} dB RMS (target −26 LUFS)`).to.be.within(-30, -25);
  });

  it('news from an http URL plays between songs, heard as news with its URL in the play log', async () => {
    const music = path.join(dir, 'music');
    mkdirSync(music, { recursive: true });
    for (const i of [1, 2]) sine(path.join(music, `song${i}.flac`), 440 + 100 * i, 0.3, 2, `Song ${i}`);
    const bulletin = path.join(dir, 'bulletin.flac');
    sine(bulletin, 1000, 0.3, 1, 'Bulletin');
    let fetched = 0;
    server = http.createServer((request, response) => {
      if (request.url !== '/news/top-of-the-hour.flac') {
        response.writeHead(404).end();
        return;
      }
      fetched++;
      response.writeHead(200, { 'content-type': 'audio/flac', 'content-length': statSync(bulletin).size });
      createReadStream(bulletin).pipe(response);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/news/top-of-the-hour.flac`;
    const config = path.join(dir, 'box.yaml');
    writeFileSync(
      config,
      [
        'programme:',
        '  playlists: [{ id: shop, items: [{ folder: music }], order: sequential }]',
        `  interstitials: [{ id: news, kind: news, source: { urls: ["${url}"] }, everySongs: 2 }]`,
        '',
      ].join('\n'),
    );
    const stateDir = path.join(dir, 'state');
    box = await startBox(['--config', config, '--box-id', 'iu', '--music', music, '--audio-device', 'none', '--latency', '200', '--state-dir', stateDir], {
      NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
      NEARCAST_LOUDNESS__ENABLED: 'false',
    });
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { protocolVersion: 4, clientId: 'me', username: 'owner', password: 'pw' });
    const heard: Array<{ title: string; kind: string }> = [];
    client.on('message', (_topic, payload) => {
      const message = JSON.parse(payload.toString());
      if (message.track) heard.push({ title: message.track.title, kind: message.kind });
    });
    await client.subscribeAsync('nearcast/iu/event/track');
    await waitFor('two news items heard', () => heard.filter((h) => h.kind === 'news').length >= 2 && heard.length >= 6, 60_000, 100);
    const sequence = heard.map((h) => `${h.kind}:${h.title}`);
    const first = sequence.indexOf('news:top-of-the-hour');
    expect(first, sequence.join(', ')).to.be.within(0, 2);
    for (let i = first; i + 3 <= sequence.length; i += 3)
      expect(
        sequence.slice(i, i + 3).map((s) => s.split(':')[0]),
        sequence.join(', '),
      ).to.deep.equal(['news', 'song', 'song']);
    expect(fetched, 'each news item is fetched when it plays').to.be.at.least(2);
    await client.endAsync();
    client = null;
    expect(await box.stop()).to.equal(0);
    box = null;
    const log = readDays(path.join(stateDir, 'playlog'), localDay(new Date(Date.now() - 86_400_000)), localDay(new Date())) as PlayedItem[];
    const news = log.filter((l) => l.kind === 'news');
    expect(news.length, JSON.stringify(log)).to.be.at.least(2);
    for (const item of news) expect(item.file, JSON.stringify(item)).to.equal(url);
    // each played its second, but one the box's stop cut short
    for (const item of log.slice(0, -1).filter((l) => l.kind === 'news')) {
      expect(item.playedMs, JSON.stringify(item)).to.be.within(800, 1400);
    }
  });
});
