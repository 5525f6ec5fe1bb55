// The kiosk's programme on a real box, compressed: two-second songs from a playlist,
// a jingle every two songs, an announcement on top; the play log and event/track say
// what played as what, in the order the programme puts it, and `programme` tells what
// comes next.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { hashPassword } from '../../firmware/config/password.ts';
import type { PlayedItem } from '../../firmware/extensions/play-log.ts';
import { localDay, readDays } from '../../firmware/util/daily-log.ts';
import { startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';

function tone(file: string, hz: number, seconds: number, title: string): void {
  execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', `sine=f=${hz}:d=${seconds}:sample_rate=48000`, '-ac', '2', '-metadata', `title=${title}`, file]);
}

describe('kiosk programme (real box, compressed day)', function () {
  this.timeout(120_000);
  let dir: string;
  let box: BoxProcess | null = null;
  let client: mqtt.MqttClient | null = null;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-programme-'));
  });
  afterEach(async () => {
    await client?.endAsync();
    if (box) await box.stop();
    client = null;
    box = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('songs from the playlist with a jingle after every two, an announcement over them, all in the play log as what they were', async () => {
    const music = path.join(dir, 'music');
    mkdirSync(path.join(music, 'shop'), { recursive: true });
    mkdirSync(path.join(music, 'jingles'), { recursive: true });
    for (const [i, hz] of [
      [1, 330],
      [2, 392],
      [3, 440],
      [4, 494],
    ] as const)
      tone(path.join(music, 'shop', `song${i}.flac`), hz, 2, `Song ${i}`);
    tone(path.join(music, 'jingles', 'ding.flac'), 880, 1, 'Ding');
    const config = path.join(dir, 'box.yaml');
    writeFileSync(
      config,
      [
        'programme:',
        '  playlists:',
        '    - { id: shop, items: [{ folder: shop }], order: sequential }',
        '  interstitials:',
        '    - { id: ding, kind: jingle, source: { folder: jingles }, everySongs: 2 }',
        '',
      ].join('\n'),
    );
    const stateDir = path.join(dir, 'state');
    box = await startBox(['--config', config, '--box-id', 'kp', '--music', music, '--audio-device', 'none', '--latency', '200', '--state-dir', stateDir], {
      NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
      NEARCAST_LOUDNESS__ENABLED: 'false',
    });
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { protocolVersion: 4, clientId: 'me', username: 'owner', password: 'pw' });
    const heard: Array<{ title: string; kind: string; playlist: string | null }> = [];
    const announced: string[] = [];
    const replies: Array<{ transaction?: number; status: string; data?: { open: boolean; onAir: string[]; upcoming: Array<{ kind: string; title?: string }> } }> = [];
    client.on('message', (topic, payload) => {
      const message = JSON.parse(payload.toString());
      if (topic.endsWith('/event/track') && message.track) heard.push({ title: message.track.title, kind: message.kind, playlist: message.playlist });
      if (topic.includes('/response/')) replies.push(message);
      if (topic.endsWith('/event/announcement')) announced.push(message.state);
    });
    await client.subscribeAsync(['nearcast/kp/event/track', 'nearcast/kp/event/announcement', 'nearcast/kp/client/me/response/#']);
    client.publish('nearcast/kp/client/me/request/programme', JSON.stringify({ count: 4, transaction: 1 }));
    await waitFor('seven items heard', () => heard.length >= 7, 60_000, 100);
    client.publish('nearcast/kp/client/me/request/announce', JSON.stringify({ text: 'Hello shoppers', chime: false, transaction: 2 }));
    await waitFor('the announcement answered', () => replies.some((r) => r.transaction === 2), 20_000);
    await waitFor('two more items heard', () => heard.length >= 9, 30_000, 100);
    // speech is synthesised first (espeak-ng), which takes a while on a loaded machine: the log has it once it played
    await waitFor(`the announcement played (${announced.join(', ')})`, () => announced.includes('done') || announced.includes('failed'), 30_000, 100);
    expect(announced, 'the announcement played').to.include('done');

    const sequence = heard.map((h) => `${h.kind}:${h.title}`);
    const firstJingle = sequence.indexOf('jingle:Ding');
    expect(firstJingle, sequence.join(', ')).to.be.within(1, 2); // the box may start mid-count after its first song
    for (let i = firstJingle; i + 3 < sequence.length; i += 3) {
      expect(
        sequence.slice(i, i + 3).map((s) => s.split(':')[0]),
        `every third item is the jingle: ${sequence.join(', ')}`,
      ).to.deep.equal(['jingle', 'song', 'song']);
    }
    const songs = heard.filter((h) => h.kind === 'song');
    expect(
      songs.every((s) => s.playlist === 'shop'),
      JSON.stringify(songs),
    ).to.equal(true);
    const order = songs.map((s) => Number(s.title.split(' ')[1]));
    for (let i = 1; i < order.length; i++) expect(order[i], `sequential order: ${order.join(' ')}`).to.equal((order[i - 1]! % 4) + 1);
    const programme = replies.find((r) => r.transaction === 1)?.data;
    expect(programme?.open, JSON.stringify(programme)).to.equal(true);
    expect(programme?.onAir).to.deep.equal(['shop']);
    expect(programme?.upcoming.length).to.equal(4);

    expect(await box.stop()).to.equal(0);
    box = null;
    const log = readDays(path.join(stateDir, 'playlog'), localDay(new Date(Date.now() - 86_400_000)), localDay(new Date())) as PlayedItem[];
    const logged = log.filter((l) => l.kind !== 'announcement').map((l) => `${l.kind}:${l.title}`);
    // the watcher subscribed after the box started: what it heard is a run of the log (the log may hold the first song before it)
    const offset = logged.findIndex((_, at) => sequence.slice(0, logged.length - at).every((item, k) => logged[at + k] === item));
    expect(offset, `the play log says what was heard, as what: log ${logged.join(', ')}; heard ${sequence.join(', ')}`).to.be.within(0, 1);
    expect(logged.length - offset, 'every item heard but the one playing at the stop is logged').to.be.at.least(sequence.length - 1);
    // every jingle but one the box's stop cut short played its second
    const jingles = log.slice(0, -1).filter((l) => l.kind === 'jingle');
    expect(jingles.length, JSON.stringify(log)).to.be.at.least(2);
    expect(
      jingles.every((l) => l.playedMs >= 800 && l.playedMs <= 1300),
      JSON.stringify(jingles),
    ).to.equal(true);
    expect(
      log.some((l) => l.kind === 'announcement' && l.title === 'Hello shoppers'),
      'the announcement is logged',
    ).to.equal(true);
  });
});
