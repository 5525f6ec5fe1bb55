// The play log on a real box: short songs play one after another; each finished
// item is a line in the day's file and an event/played message, and
// `nearcast-box playlog` exports them as CSV.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { localDay, readDays } from '../../firmware/util/daily-log.ts';
import type { PlayedItem } from '../../firmware/extensions/play-log.ts';
import { ROOT, startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { makeTestMusic } from '../helpers/test-music.ts';

describe('play log (real box process)', function () {
  this.timeout(90_000);
  let dir: string;
  let box: BoxProcess | null = null;
  let client: mqtt.MqttClient | null = null;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-playlog-'));
  });
  afterEach(async () => {
    await client?.endAsync();
    client = null;
    if (box) await box.stop();
    box = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('every song that played is one line and one event/played, in order, with its times, and exports as CSV', async () => {
    const tracks = makeTestMusic(path.join(dir, 'music'), 3);
    const stateDir = path.join(dir, 'state');
    box = await startBox(['--box-id', 'pl', '--music', path.join(dir, 'music'), '--audio-device', 'none', '--latency', '200', '--state-dir', stateDir]);
    const heard: string[] = [];
    const played: PlayedItem[] = [];
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { protocolVersion: 4, clientId: 'watch' });
    client.on('message', (topic, payload) => {
      const message = JSON.parse(payload.toString()) as { track?: { title: string } | null } & PlayedItem;
      if (topic.endsWith('/event/track') && message.track) heard.push(message.track.title);
      if (topic.endsWith('/event/played')) played.push(message);
    });
    await client.subscribeAsync(['nearcast/pl/event/track', 'nearcast/pl/event/played']);
    await waitFor('three items played', () => played.length >= 3, 40_000, 100);
    expect(await box.stop(), 'the box exits cleanly').to.equal(0);
    box = null;

    const lines = readDays(path.join(stateDir, 'playlog'), localDay(new Date(Date.now() - 86_400_000)), localDay(new Date())) as PlayedItem[];
    // the box wrote each item it told, and at stop the one playing then
    expect(lines.length, JSON.stringify(lines.map((l) => l.title))).to.be.within(played.length, played.length + 1);
    expect(lines.slice(0, played.length), 'event/played says what the file says').to.deep.equal(played);
    expect(
      lines.map((l) => l.title),
      `heard in this order: ${heard.join(', ')}`,
    ).to.deep.equal(heard.slice(0, lines.length));
    for (const line of lines.slice(0, 3)) {
      expect(line.playedMs, `${line.title}: ${line.playedMs} ms of a 3 s song`).to.be.within(2_700, 3_400);
      const span = Date.parse(line.end) - Date.parse(line.start);
      expect(Math.abs(span - line.playedMs), `${line.title}: ${line.start} → ${line.end} vs ${line.playedMs} ms`).to.be.lessThan(300);
      expect(line.kind).to.equal('song');
      const source = tracks.find((t) => t.title === line.title);
      expect(line.file, line.title).to.equal(source?.file);
      expect(line.isrc, line.title).to.equal(source?.isrc ?? null);
      expect(line.listenersAtStart).to.equal(0);
    }
    for (let i = 1; i < lines.length; i++) expect(Date.parse(lines[i]!.start), 'items follow one another').to.be.at.least(Date.parse(lines[i - 1]!.end) - 50);

    const csv = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'firmware/main.ts', '--state-dir', stateDir, 'playlog', '--from', localDay(new Date(Date.now() - 86_400_000)), '--to', localDay(new Date())],
      { cwd: ROOT, encoding: 'utf8' },
    );
    const rows = csv.trim().split('\r\n');
    expect(rows[0]).to.equal('start,end,played_ms,kind,title,artist,album,isrc,file,playlist,listeners_at_start');
    expect(rows.length - 1, csv).to.equal(lines.length);
    expect(rows[1]).to.contain(`,${lines[0]!.playedMs},song,`);
    let refused = '';
    try {
      execFileSync(process.execPath, ['--import', 'tsx', 'firmware/main.ts', 'playlog', '--from', '2026-02-30'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      refused = String((e as { stderr?: string }).stderr);
    }
    expect(refused).to.contain("'2026-02-30' is not a day");
  });
});
