// A programme playlist that draws on a music server, on a real box: the OpenSubsonic
// test server (test/helpers/subsonic-server.ts, built from the specification's
// documented responses) holds a Jazz song and a Rock song, the box's own music folder a
// song of another pitch. The playlist asks the server for its Jazz (getSongsByGenre) and
// also names a second server that is down. Checked on the stream every listener
// receives (zero crossings tell a 1000 Hz server song from the box's 440 Hz one), on
// event/track, event/error and in the play log and the box's log: the server's song is heard and logged
// with its server, the Rock song never plays, the server is not asked per song, and the
// server that is down is reported while the music goes on.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { hashPassword } from '../../firmware/config/password.ts';
import type { PlayedItem } from '../../firmware/extensions/play-log.ts';
import { localDay, readDays } from '../../firmware/util/daily-log.ts';
import { startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { startLoopbackStation, type LoopbackStation } from '../helpers/loopback-station.ts';
import { probeStream, type StreamProbe } from '../helpers/stream-probe.ts';
import { startSubsonicServer, type SubsonicTestServer } from '../helpers/subsonic-server.ts';

function sine(file: string, hz: number, seconds: number, title: string): void {
  execFileSync('ffmpeg', [
    '-nostdin',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `aevalsrc=0.3*sin(2*PI*${hz}*t)|0.3*sin(2*PI*${hz}*t):s=48000:d=${seconds}`,
    '-metadata',
    `title=${title}`,
    file,
  ]);
}

/** zero crossings of the left channel: a 20 ms chunk of 440 Hz has ~18, of 1000 Hz ~40 */
const crossings = (pcm: Int16Array) => {
  let count = 0;
  for (let i = 2; i < pcm.length; i += 2) if (pcm[i - 2]! < 0 !== pcm[i]! < 0) count++;
  return count;
};

describe('a programme playlist from a music server (real box, OpenSubsonic test server)', function () {
  this.timeout(150_000);
  let dir: string;
  let server: SubsonicTestServer | null = null;
  let box: BoxProcess | null = null;
  let probe: StreamProbe | null = null;
  let client: mqtt.MqttClient | null = null;
  let radio: LoopbackStation | null = null;
  afterEach(async () => {
    await probe?.close();
    await client?.endAsync();
    if (box) await box.stop();
    await server?.close();
    radio?.close();
    [probe, client, box, server, radio] = [null, null, null, null, null];
    rmSync(dir, { recursive: true, force: true });
  });

  it("plays the server's songs of the playlist's genre, logged with their server; a server that is down is reported, never silence", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-programme-net-'));
    const music = path.join(dir, 'music');
    mkdirSync(music, { recursive: true });
    sine(path.join(music, 'local.flac'), 440, 2, 'Local Song');
    mkdirSync(path.join(dir, 'server'));
    const jazz = path.join(dir, 'server', 'jazz.flac');
    const rock = path.join(dir, 'server', 'rock.flac');
    sine(jazz, 1000, 3, 'Harbour Lights');
    sine(rock, 1600, 3, 'Loud Thing');
    const common = { artist: 'Remote Band', album: 'Far Away', durationS: 3, contentType: 'audio/flac', suffix: 'flac' };
    server = await startSubsonicServer({
      username: 'ann',
      password: 'server-pw',
      songs: [
        { id: 's1', title: 'Harbour Lights', file: jazz, genre: 'Jazz', ...common },
        { id: 's2', title: 'Loud Thing', file: rock, genre: 'Rock', ...common },
      ],
    });
    // a second server at a loopback port nobody listens on any more
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const downPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const config = path.join(dir, 'box.yaml');
    writeFileSync(
      config,
      [
        'servers:',
        `  - { name: home, url: "${server.url}", username: ann, password: server-pw }`,
        `  - { name: attic, url: "http://127.0.0.1:${downPort}", username: ann, password: server-pw }`,
        'programme:',
        '  playlists: [{ id: shop, items: [{ server: home, genre: [Jazz] }, { server: attic, search: harbour }], order: sequential }]',
        '',
      ].join('\n'),
    );
    const stateDir = path.join(dir, 'state');
    box = await startBox(['--config', config, '--box-id', 'pn', '--music', music, '--audio-device', 'none', '--policy', 'open', '--latency', '200', '--state-dir', stateDir], {
      NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
      NEARCAST_LOUDNESS__ENABLED: 'false',
    });
    probe = await probeStream(box.ports.mqtt);
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { protocolVersion: 4, clientId: 'watch' });
    const heard: string[] = [];
    const errors: string[] = [];
    client.on('message', (topic, payload) => {
      const message = JSON.parse(payload.toString());
      if (topic.endsWith('/event/track') && message.track) heard.push(message.track.title);
      if (topic.endsWith('/event/error')) errors.push(String(message.message));
    });
    await client.subscribeAsync(['nearcast/pn/event/track', 'nearcast/pn/event/error']);
    await waitFor(`the server's song heard three times (heard: ${heard.join(', ')})`, () => heard.filter((title) => title === 'Harbour Lights').length >= 3, 90_000, 100).catch(
      (error) => {
        throw new Error(`${(error as Error).message}; heard ${JSON.stringify(heard)}; errors ${JSON.stringify(errors)}`);
      },
    );
    expect(heard, 'the Rock song is not of the genre').not.to.include('Loud Thing');
    // asked as the box starts (before this client could subscribe to event/error): the log says it
    const down = box.logs.filter((line) => line.includes('a music server gave no songs') && line.includes('"server":"attic"'));
    expect(down.length, box.logs.filter((line) => line.includes('programme')).join('\n')).to.be.at.least(1);
    expect(down[0], 'the reason').to.match(/connection refused/);

    // on the stream: the server's 1000 Hz song, not only its title on the bus
    let server1000 = 0;
    let local440 = 0;
    let rock1600 = 0;
    for (const pcm of probe.chunks.values()) {
      const zc = crossings(pcm);
      if (zc >= 36 && zc <= 44) server1000++;
      else if (zc >= 15 && zc <= 20) local440++;
      else if (zc >= 60 && zc <= 68) rock1600++;
    }
    expect(server1000, `20 ms chunks of 1000 Hz ${server1000}, of 440 Hz ${local440}, of 1600 Hz ${rock1600}`).to.be.at.least(200);
    expect(rock1600, `20 ms chunks of 1600 Hz ${rock1600}`).to.equal(0);

    // asked when the playlist is picked and kept: not once per song
    const genreAsks = server.requests.filter((request) => request.pathname.endsWith('/getSongsByGenre'));
    expect(genreAsks.length, `getSongsByGenre calls for ${heard.length} items`).to.be.within(1, 2);
    expect(genreAsks[0]?.searchParams.get('genre')).to.equal('Jazz');

    await client.endAsync();
    client = null;
    await probe.close();
    probe = null;
    expect(await box.stop()).to.equal(0);
    box = null;
    const log = readDays(path.join(stateDir, 'playlog'), localDay(new Date(Date.now() - 86_400_000)), localDay(new Date())) as PlayedItem[];
    const fromServer = log.filter((item) => item.title === 'Harbour Lights');
    expect(fromServer.length, JSON.stringify(log)).to.be.at.least(2);
    for (const item of fromServer) {
      expect(item, JSON.stringify(item)).to.include({ server: 'home', playlist: 'shop', kind: 'song' });
      expect(item.file, 'the stream URL, without credentials').to.match(/\/rest\/stream\?id=s1&format=raw$/);
    }
  });

  it('a station as a playlist item plays for its minutes, then the next item; logged as the station; an unknown one is reported and skipped', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-programme-station-'));
    const music = path.join(dir, 'music');
    mkdirSync(music, { recursive: true });
    sine(path.join(music, 'local.flac'), 440, 2, 'Local Song');
    radio = await startLoopbackStation(1000);
    const config = path.join(dir, 'box.yaml');
    writeFileSync(
      config,
      [
        'stations:',
        `  - { name: Shop Radio, url: "${radio.url}" }`,
        'programme:',
        '  playlists: [{ id: mix, items: [{ station: Shop Radio, minutes: 0.1 }, { station: Nowhere, minutes: 1 }, { folder: music }], order: sequential }]',
        '',
      ].join('\n'),
    );
    const stateDir = path.join(dir, 'state');
    box = await startBox(['--config', config, '--box-id', 'ps', '--music', music, '--audio-device', 'none', '--policy', 'open', '--latency', '200', '--state-dir', stateDir], {
      NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
      NEARCAST_LOUDNESS__ENABLED: 'false',
    });
    probe = await probeStream(box.ports.mqtt);
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { protocolVersion: 4, clientId: 'watch' });
    const heard: string[] = [];
    const errors: string[] = [];
    client.on('message', (topic, payload) => {
      const message = JSON.parse(payload.toString());
      if (topic.endsWith('/event/track') && message.track) heard.push(message.track.title);
      if (topic.endsWith('/event/error')) errors.push(String(message.message));
    });
    await client.subscribeAsync(['nearcast/ps/event/track', 'nearcast/ps/event/error']);
    await waitFor(
      `station, song, station, song (heard: ${heard.join(', ')})`,
      () => heard.filter((title) => title === 'Shop Radio').length >= 2 && heard.at(-1) === 'Local Song',
      60_000,
      100,
    );
    expect(heard, 'a station the box does not know is skipped').not.to.include('Nowhere');
    expect(
      errors.some((message) => message.includes("no station named 'Nowhere'")),
      JSON.stringify(errors),
    ).to.equal(true);
    let station1000 = 0;
    for (const pcm of probe.chunks.values()) {
      const zc = crossings(pcm);
      if (zc >= 36 && zc <= 44) station1000++;
    }
    expect(station1000, `20 ms chunks of the station's 1000 Hz: ${station1000}`).to.be.at.least(200);
    await client.endAsync();
    client = null;
    expect(await box.stop()).to.equal(0);
    box = null;
    const log = readDays(path.join(stateDir, 'playlog'), localDay(new Date(Date.now() - 86_400_000)), localDay(new Date())) as PlayedItem[];
    const stations = log.filter((item) => item.title === 'Shop Radio');
    expect(stations.length, JSON.stringify(log)).to.be.at.least(2);
    // 6 s each, the fade included; the first may have begun before a listener counted it
    for (const item of stations) expect(item.playedMs, JSON.stringify(item)).to.be.within(4500, 7500);
  });
});
