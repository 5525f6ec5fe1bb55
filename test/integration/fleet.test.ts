// `nearcast fleet set-programme` and `nearcast fleet playlog` against Debian's
// Mosquitto 2, with two real box processes uplinked to it: one box keeps a play
// log of two days (seeded as its files, more than one page), the other keeps none.
// Every box answers for itself, a box that does not exist is reported as not
// answering, and the play logs come back as one CSV with a box column.

import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { hashPassword } from '../../firmware/config/password.ts';
import { PAGE_ITEMS } from '../../firmware/extensions/play-log-export.ts';
import { localDay } from '../../firmware/util/daily-log.ts';
import type { PlayedItem } from '../../firmware/wire/play-log.ts';
import { runCompanion, startBox, type BoxProcess } from '../helpers/box-process.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';

const PREFIX = 'nearcast/shop-f';
const DAY_MS = 86_400_000;

function item(day: string, i: number): PlayedItem {
  const at = `${day}T${String(8 + (Math.floor(i / 60) % 12)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00.000+00:00`;
  return {
    id: `${day}-${i}`,
    start: at,
    end: at,
    playedMs: 180_000,
    kind: 'song',
    title: `Song ${i}, "${day}"`,
    artist: 'Demo',
    album: '',
    isrc: null,
    file: `/srv/music/${i}.flac`,
    playlist: null,
    listenersAtStart: i % 4,
  };
}

describe('nearcast fleet set-programme and playlog (Mosquitto 2, real boxes)', function () {
  this.timeout(120_000);
  let dir: string;
  let broker: Mosquitto;
  const boxes: BoxProcess[] = [];
  const days = [localDay(new Date(Date.now() - 2 * DAY_MS)), localDay(new Date(Date.now() - DAY_MS))];
  const seeded: PlayedItem[] = [];
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-fleet-'));
    broker = await startMosquitto({ users: { 'box-f1': 'p1', 'box-f2': 'p2', staff: 'staff-secret' } });
    // f1's play log: two days, more items than one page holds
    const logDir = path.join(dir, 'f1', 'playlog');
    mkdirSync(logDir, { recursive: true });
    for (const [d, day] of days.entries()) {
      const items = Array.from({ length: d === 0 ? 450 : 300 }, (_, i) => item(day, i));
      seeded.push(...items);
      writeFileSync(path.join(logDir, `${day}.jsonl`), items.map((i) => JSON.stringify(i) + '\n').join(''));
    }
    for (const [id, password, more] of [
      ['f1', 'p1', {}],
      ['f2', 'p2', { NEARCAST_PLAYLOG__ENABLED: 'false' }],
    ] as const) {
      boxes.push(
        await startBox(['--sim', '--no-keyboard', '--box-id', id, '--audio-device', 'none', '--state-dir', path.join(dir, id)], {
          NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
          NEARCAST_SOURCES: '["tone:440"]',
          NEARCAST_MQTT__UPLINK__URL: broker.url,
          NEARCAST_MQTT__UPLINK__USERNAME: `box-${id}`,
          NEARCAST_MQTT__UPLINK__PASSWORD: password,
          NEARCAST_MQTT__UPLINK__PREFIX: PREFIX,
          ...more,
        }),
      );
    }
    env = { ...process.env, NEARCAST_PASSWORD: 'staff-secret', NEARCAST_FLEET_BROKER: broker.url };
    // both boxes online on the broker (their retained availability)
    const watch = await mqtt.connectAsync(broker.url, { protocolVersion: 5, username: 'staff', password: 'staff-secret', reconnectPeriod: 0 });
    const online = new Set<string>();
    const ready = new Promise<void>((resolve) =>
      watch.on('message', (topic, payload) => {
        if (JSON.parse(payload.toString()).state === 'online') online.add(topic.split('/')[2]!);
        if (online.size === 2) resolve();
      }),
    );
    await watch.subscribeAsync(`${PREFIX}/+/availability`);
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`boxes online: ${[...online].join(', ')}`)), 30_000).unref());
    await Promise.race([ready, timeout]);
    await watch.endAsync();
  });

  after(async () => {
    try {
      for (const box of boxes) if (box.proc.exitCode === null && box.proc.signalCode === null) await box.stop();
    } finally {
      await broker?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  const fleet = async (...args: string[]) => {
    const run = runCompanion(['--user', 'staff', 'fleet', '--prefix', PREFIX, ...args], env);
    const code = await run.exited;
    return { code, stdout: run.stdout.map((l) => l.replace(/\r$/, '')), stderr: run.stderr };
  };

  it('set-programme: every box answers for itself, a box that is not there is reported as not answering', async () => {
    const file = path.join(dir, 'programme.yaml');
    writeFileSync(file, 'programme:\n  minGapMinutes: 5\n  playlists: []\n');
    const all = await fleet('set-programme', 'all', file);
    const lines: Record<string, string> = Object.fromEntries(all.stdout.map((l) => [l.split(/ +/)[0], l]));
    expect(Object.keys(lines).sort(), all.stdout.join('\n')).to.deep.equal(['f1', 'f2']);
    for (const [box, line] of Object.entries(lines)) expect(line, box).to.match(/^\S+ +ok +programme set$/);
    expect(all.code, 'exit code').to.equal(0);

    const some = await fleet('--timeout', '2', 'set-programme', 'f1,ghost', file);
    expect(some.stdout.length, some.stdout.join('\n')).to.equal(2);
    expect(some.stdout[1]).to.match(/^ghost +error +no reply within 2 s/);
    expect(some.code).to.equal(1);

    writeFileSync(file, '- just\n- a list\n');
    const bad = await fleet('set-programme', 'all', file);
    expect(bad.code).to.equal(1);
    expect(bad.stderr.join('\n')).to.match(/must hold a programme/);
    const missing = await fleet('set-programme', 'all', path.join(dir, 'nope.yaml'));
    expect(missing.stderr.join('\n')).to.match(/cannot read the programme file .*nope\.yaml: ENOENT/);
  });

  it('playlog: every online box, page by page, into one CSV with a box column; a box without a log says why', async () => {
    expect(seeded.length, 'more items than one page').to.be.greaterThan(PAGE_ITEMS);
    const out = await fleet('playlog', '--from', days[0]!, '--to', days[1]!);
    expect(out.code, 'exit code (f2 keeps no play log)').to.equal(1);
    expect(out.stdout[0]).to.equal('box,start,end,played_ms,kind,title,artist,album,isrc,file,playlist,listeners_at_start');
    const rows = out.stdout.slice(1).filter(Boolean);
    expect(rows.length, 'rows').to.equal(seeded.length);
    expect(rows[0]).to.equal(`f1,${seeded[0]!.start},${seeded[0]!.end},180000,song,"Song 0, ""${days[0]}""",Demo,,,/srv/music/0.flac,,0`);
    expect(rows.at(-1)).to.contain(`"Song 299, ""${days[1]}"""`);
    expect(out.stderr.find((l) => l.startsWith('f1'))).to.match(new RegExp(`^f1 +ok +${seeded.length} item\\(s\\)$`));
    expect(out.stderr.find((l) => l.startsWith('f2'))).to.match(/^f2 +error +0 item\(s\) — this box keeps no play log/);
  });

  it('playlog: one box as JSON lines into a file, the exact records; bad days are refused before connecting', async () => {
    const file = path.join(dir, 'f1.jsonl');
    const out = await fleet('playlog', 'f1', '--from', days[1]!, '--format', 'jsonl', '--output', file);
    expect(out.code, out.stderr.join('\n')).to.equal(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const expected = seeded.filter((i) => i.start.startsWith(days[1]!));
    expect(lines.map((l) => JSON.parse(l))).to.deep.equal(expected.map((i) => ({ box: 'f1', ...i })));
    const bad = await fleet('playlog', '--from', '2026-02-30');
    expect(bad.code).to.equal(1);
    expect(bad.stderr.join('\n')).to.contain("'2026-02-30' is not a day");
    const none = await fleet('playlog', 'f1', '--from', '2020-01-01');
    expect(none.stdout, 'a range with nothing: the header alone').to.deep.equal(['box,start,end,played_ms,kind,title,artist,album,isrc,file,playlist,listeners_at_start']);
    expect(none.code).to.equal(0);
  });
});
