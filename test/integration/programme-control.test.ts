// The owner controls the kiosk's programme over MQTT, on a real box with real clients:
// `set-programme` refuses a bad programme with every problem's path and keeps the good
// one, applies a good one from the next item on and keeps it over a restart; Home
// Assistant's playlist select lists the playlists and plays the one chosen now.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { hashPassword } from '../../firmware/config/password.ts';
import { startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';

function tone(file: string, hz: number, seconds: number, title: string): void {
  execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', `sine=f=${hz}:d=${seconds}:sample_rate=48000`, '-ac', '2', '-metadata', `title=${title}`, file]);
}

interface Reply {
  transaction?: number;
  status: string;
  error?: string;
  data?: Record<string, unknown>;
}
interface Heard {
  title: string;
  playlist: string | null;
}
interface ProgrammeState {
  from: string;
  chosen: { playlist: string; until: string | null } | null;
  playing: { kind: string; playlist: string | null; playlistName: string | null };
}

/** An owner's MQTT client that records the tracks heard, the replies, the state and Home Assistant's configs. */
async function watch(box: BoxProcess) {
  const id = box.boxId;
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { protocolVersion: 4, clientId: 'owner1', username: 'owner', password: 'pw' });
  const heard: Heard[] = [];
  const replies: Reply[] = [];
  const configs = new Map<string, string>();
  const seen = { state: {} as { programme?: ProgrammeState } };
  client.on('message', (topic, payload) => {
    const text = payload.toString();
    if (topic.startsWith('homeassistant/')) configs.set(topic, text);
    else if (topic.endsWith('/event/track')) {
      const message = JSON.parse(text);
      if (message.track) heard.push({ title: message.track.title, playlist: message.playlist });
    } else if (topic.endsWith('/state')) seen.state = JSON.parse(text);
    else if (topic.includes('/response/')) replies.push(JSON.parse(text));
  });
  await client.subscribeAsync([`nearcast/${id}/event/track`, `nearcast/${id}/state`, `nearcast/${id}/client/owner1/response/#`, `homeassistant/+/${id}/+/config`]);
  let transaction = 0;
  const ask = async (op: string, body: object): Promise<Reply> => {
    const t = ++transaction;
    client.publish(`nearcast/${id}/client/owner1/request/${op}`, JSON.stringify({ ...body, transaction: t }));
    await waitFor(`the reply to ${op}`, () => replies.some((r) => r.transaction === t), 20_000);
    return replies.find((r) => r.transaction === t)!;
  };
  return { client, heard, configs, seen, ask };
}

describe('kiosk programme control over MQTT (real box)', function () {
  this.timeout(150_000);
  let dir: string;
  let music: string;
  let box: BoxProcess | null = null;
  let client: mqtt.MqttClient | null = null;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-programme-control-'));
    music = path.join(dir, 'music');
    for (const [folder, base, hz] of [
      ['morning', 'M', 330],
      ['evening', 'E', 523],
    ] as const) {
      mkdirSync(path.join(music, folder), { recursive: true });
      for (const i of [1, 2]) tone(path.join(music, folder, `${base}${i}.flac`), hz + i * 20, 2, `${base}${i}`);
    }
  });
  afterEach(async () => {
    await client?.endAsync();
    if (box) await box.stop();
    client = null;
    box = null;
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (config: string, id: string) => {
    const file = path.join(dir, 'box.yaml');
    writeFileSync(file, config);
    return startBox(['--config', file, '--box-id', id, '--music', music, '--audio-device', 'none', '--no-keyboard', '--latency', '200', '--state-dir', path.join(dir, 'state')], {
      NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
      NEARCAST_LOUDNESS__ENABLED: 'false',
    });
  };

  it('set-programme: a bad programme is refused with each path and changes nothing; a good one plays from the next item and survives a restart', async () => {
    box = await start(['programme:', '  playlists:', '    - { id: morning, items: [{ folder: morning }], order: sequential }', ''].join('\n'), 'pc');
    const owner = await watch(box);
    client = owner.client;
    await waitFor('a morning song heard', () => owner.heard.length >= 1, 30_000, 100);

    // schema problems: every one, each with its path, and the value given
    const schemaBad = await owner.ask('set-programme', {
      programme: {
        playlists: [
          { id: 'evening', items: [{ folder: 'evening' }] },
          { id: 'late', items: [{ folder: 'evening' }], windows: [{ start: '25:00' }] },
        ],
        interstitials: [{ id: 'x', everySongs: 0, source: { folder: 'evening' } }],
      },
    });
    expect(schemaBad.status, JSON.stringify(schemaBad)).to.equal('error');
    expect(schemaBad.error).to.include('/programme/playlists/1/windows/0/start must match pattern').and.include('(got "25:00")');
    expect(schemaBad.error).to.include('/programme/interstitials/0/everySongs must be >= 1');
    // what only the compiler sees: references, empty windows
    const compileBad = await owner.ask('set-programme', {
      programme: {
        playlists: [{ id: 'evening', items: [{ folder: 'evening' }], windows: [{ start: '10:00', end: '10:00' }] }],
        interstitials: [{ id: 'ad', everySongs: 2, source: { playlist: 'nosuch' } }],
      },
    });
    expect(compileBad.status, JSON.stringify(compileBad)).to.equal('error');
    expect(compileBad.error).to.include('/programme/playlists/0/windows/0 is empty').and.include('/programme/interstitials/0/source/playlist names no playlist');
    expect(existsSync(path.join(dir, 'state', 'programme-set.json')), 'a refused programme is not written').to.equal(false);

    // a guest may not replace it
    const guest = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { protocolVersion: 4, clientId: 'guest1', reconnectPeriod: 0 });
    const guestReplies: Reply[] = [];
    guest.on('message', (_t, p) => guestReplies.push(JSON.parse(p.toString())));
    await guest.subscribeAsync('nearcast/pc/client/guest1/response/#');
    guest.publish('nearcast/pc/client/guest1/request/set-programme', JSON.stringify({ programme: { playlists: [] }, transaction: 1 }));
    await waitFor('the guest refused', () => guestReplies.length > 0, 10_000);
    expect(guestReplies[0]?.status, JSON.stringify(guestReplies)).to.equal('error');
    await guest.endAsync();

    // still the morning playlist after the refusals
    const beforeGood = owner.heard.length;
    await waitFor('another song heard', () => owner.heard.length > beforeGood, 20_000, 100);
    expect(
      owner.heard.every((h) => h.playlist === 'morning'),
      JSON.stringify(owner.heard),
    ).to.equal(true);

    const good = await owner.ask('set-programme', { programme: { playlists: [{ id: 'evening', name: 'Evening', items: [{ folder: 'evening' }], order: 'sequential' }] } });
    expect(good.status, JSON.stringify(good)).to.equal('ok');
    expect(good.data).to.include({ open: true });
    expect(good.data?.playlists).to.deep.equal(['evening']);
    const saved = JSON.parse(readFileSync(path.join(dir, 'state', 'programme-set.json'), 'utf8'));
    expect(saved.programme.playlists[0].id).to.equal('evening');
    const fromSet = owner.heard.length;
    // the item playing ends as it was; the next (or, if it was already on its way, the one after) comes from the new programme
    await waitFor('three items heard after the new programme', () => owner.heard.length >= fromSet + 3, 30_000, 100);
    const after = owner.heard.slice(fromSet);
    const firstEvening = after.findIndex((h) => h.playlist === 'evening');
    expect(firstEvening, JSON.stringify(after)).to.be.within(0, 1);
    expect(
      after.slice(firstEvening).every((h) => h.playlist === 'evening' && h.title.startsWith('E')),
      JSON.stringify(after),
    ).to.equal(true);
    await waitFor(
      'the state says the programme was set and plays evening',
      () => owner.seen.state.programme?.from === 'set' && owner.seen.state.programme?.playing.playlist === 'evening',
      10_000,
    );
    expect(owner.seen.state.programme?.playing.playlistName).to.equal('Evening');

    // a restart: the programme set over MQTT wins over the configuration's
    await client.endAsync();
    client = null;
    expect(await box.stop()).to.equal(0);
    box = await start(['programme:', '  playlists:', '    - { id: morning, items: [{ folder: morning }], order: sequential }', ''].join('\n'), 'pc');
    const again = await watch(box);
    client = again.client;
    await waitFor('two songs heard after the restart', () => again.heard.length >= 2, 30_000, 100);
    expect(
      again.heard.every((h) => h.playlist === 'evening'),
      JSON.stringify(again.heard),
    ).to.equal(true);
    expect(box.logs.some((line) => line.includes('playing the programme set over MQTT'))).to.equal(true);
  });

  it("Home Assistant's playlist select lists the playlists, plays the chosen one now, and follows a replaced programme", async () => {
    box = await start(
      [
        'programme:',
        '  playlists:',
        '    - { id: morning, name: Morning, items: [{ folder: morning }], order: sequential, weight: 1000 }',
        '    - { id: evening, name: Evening, items: [{ folder: evening }], order: sequential, weight: 1 }',
        '',
      ].join('\n'),
      'ps',
    );
    const owner = await watch(box);
    client = owner.client;
    const selectTopic = 'homeassistant/select/ps/playlist/config';
    await waitFor('the playlist select', () => owner.configs.has(selectTopic), 10_000);
    const select = JSON.parse(owner.configs.get(selectTopic)!);
    expect(select).to.include({ command_topic: 'nearcast/ps/ha/playlist/set', state_topic: 'nearcast/ps/state' });
    expect(select.options).to.deep.equal(['Morning', 'Evening']);
    await waitFor('a song heard', () => owner.heard.length >= 1, 30_000, 100);

    // choosing skips to the chosen playlist at once (songs are 2 s: the next one heard within a second or so is the skip)
    const before = owner.heard.length;
    const chosenAt = Date.now();
    await client.publishAsync('nearcast/ps/ha/playlist/set', 'Evening');
    await waitFor('an evening song heard', () => owner.heard.slice(before).some((h) => h.playlist === 'evening'), 10_000, 50);
    const latency = Date.now() - chosenAt;
    expect(owner.heard[before]?.playlist, `the first item after the choice: ${JSON.stringify(owner.heard.slice(before))}`).to.equal('evening');
    expect(latency, 'the chosen playlist is heard at once, not after the song').to.be.below(1800);
    await waitFor('the state shows the choice', () => owner.seen.state.programme?.chosen?.playlist === 'evening', 10_000);
    // no window changes in this programme: the choice holds
    await waitFor('two more songs', () => owner.heard.length >= before + 3, 20_000, 100);
    expect(
      owner.heard.slice(before).every((h) => h.playlist === 'evening'),
      JSON.stringify(owner.heard.slice(before)),
    ).to.equal(true);

    const unknown = await owner.ask('playlist', { playlist: 'Nope' });
    expect(unknown.status).to.equal('error');
    expect(unknown.error).to.include("no playlist 'Nope'").and.include('Morning, Evening');

    // a programme replaced over MQTT: the select is announced again with its playlists
    const replaced = await owner.ask('set-programme', { programme: { playlists: [{ id: 'all', name: 'Everything', items: [{ folder: 'morning' }, { folder: 'evening' }] }] } });
    expect(replaced.status, JSON.stringify(replaced)).to.equal('ok');
    await waitFor('the select lists the new playlists', () => JSON.parse(owner.configs.get(selectTopic) ?? '{}').options?.[0] === 'Everything', 10_000);
    await waitFor('the state shows the new programme ended the choice', () => owner.seen.state.programme !== undefined && owner.seen.state.programme.chosen === null, 10_000);
    // an empty programme: the box plays its queue again and the select goes (an empty retained config removes it)
    const none = await owner.ask('set-programme', { programme: {} });
    expect(none.status, JSON.stringify(none)).to.equal('ok');
    await waitFor('the select removed', () => owner.configs.get(selectTopic) === '', 10_000);
    await waitFor('the state has no programme', () => owner.seen.state.programme === undefined, 10_000);
  });
});
