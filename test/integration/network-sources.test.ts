// The owner changes the box's radio stations and music servers over MQTT: a real box,
// real MQTT clients (the owner, a guest, Home Assistant's view of discovery), a radio
// stream served on loopback, and the OpenSubsonic test server (test/helpers/
// subsonic-server.ts, from the specification's documented responses).
// Checked: only the owner may; a bad entry is refused with the reason and changes nothing
// stored; an added station is offered at once (state's sources and Home Assistant's
// select) and plays; an added server is searched; the changes, and a server's track in
// the queue, survive a restart; a removal too; no password or key on any topic the box
// publishes, in any reply, or in the log.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { hashPassword } from '../../firmware/config/password.ts';
import { startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { startSubsonicServer, type SubsonicTestServer } from '../helpers/subsonic-server.ts';
import { makeTestMusic } from '../helpers/test-music.ts';

const SERVER_PASSWORD = 'net-secret-4d2a';
const API_KEY = 'net-apikey-77b3';

// biome-ignore lint/suspicious/noExplicitAny: JSON from MQTT, its shape is what the assertions check
type Json = Record<string, any>;

describe('the owner adds and removes stations and music servers over MQTT (real box, MQTT clients, loopback station, OpenSubsonic test server)', function () {
  this.timeout(240_000);
  let dir: string;
  let stateDir: string;
  let box: BoxProcess;
  let server: SubsonicTestServer;
  let keyed: SubsonicTestServer;
  let radio: http.Server;
  let radioUrl: string;
  let owner: mqtt.MqttClient;
  let guest: mqtt.MqttClient;
  const seen: string[] = []; // every message the box published that the owner could read
  const replies: Json[] = [];
  const guestReplies: Json[] = [];
  const events: Array<{ name: string; payload: Json }> = [];
  let state: Json = {};
  const discovery = new Map<string, Json>();
  const allLogs: string[] = [];

  async function boot(): Promise<void> {
    box = await startBox(
      ['--music', path.join(dir, 'music'), '--policy', 'open', '--audio-device', 'none', '--no-keyboard', '--box-id', 'netbox', '--state-dir', stateDir],
      // the test asks faster than a person would: more than the default 20-request burst
      { NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'), NEARCAST_RATELIMIT__BURST: '200', NEARCAST_LIMITS__REQUESTSPERMINUTEPERADDRESS: '1000' },
      90_000,
    );
    const prefix = 'nearcast/netbox/';
    owner = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'owner1', username: 'owner', password: 'pw', protocolVersion: 4 });
    owner.on('message', (topic, p) => {
      const text = p.toString();
      // the owner's own requests carry what it typed (a password it adds): only what the box publishes is checked
      if (!topic.includes('/request/')) seen.push(`${topic} ${text}`);
      if (!text) return;
      const payload = JSON.parse(text);
      if (topic === `${prefix}client/owner1/response/${topic.split('/').pop()}`) replies.push(payload);
      else if (topic === prefix + 'state') state = payload;
      else if (topic.startsWith(prefix + 'event/')) events.push({ name: topic.slice((prefix + 'event/').length), payload });
      else if (topic.startsWith('homeassistant/')) discovery.set(topic, payload);
    });
    // everything the box publishes that the owner may read: public topics, its replies, Home Assistant's discovery
    await owner.subscribeAsync([
      ...['state', 'listeners', 'availability', 'telemetry', 'event/#', 'client/owner1/response/#'].map((t) => prefix + t),
      'homeassistant/+/netbox/+/config',
    ]);
    guest = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'guest1', protocolVersion: 4 });
    guest.on('message', (_t, p) => guestReplies.push(JSON.parse(p.toString())));
    await guest.subscribeAsync(`${prefix}client/guest1/response/#`);
    await waitFor('the state', () => state.sources, 10_000);
  }

  async function shutdown(): Promise<void> {
    await owner?.endAsync();
    await guest?.endAsync();
    if (box) {
      const code = await box.stop();
      allLogs.push(...box.logs);
      expect(code, box.logs.slice(-20).join('\n')).to.equal(0);
    }
  }

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-netsrc-'));
    stateDir = path.join(dir, 'state');
    const tracks = makeTestMusic(path.join(dir, 'music'), 20);
    const serverFile = path.join(dir, 'server', 'far.mp3');
    mkdirSync(path.dirname(serverFile), { recursive: true });
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', tracks[0]!.file, '-af', 'areverse', '-c:a', 'libmp3lame', '-b:a', '128k', serverFile]);
    const song = (id: string, title: string) => ({ id, title, artist: 'Remote Band', album: 'Far', file: serverFile, durationS: 20, contentType: 'audio/mpeg', suffix: 'mp3' });
    server = await startSubsonicServer({ username: 'ann', password: SERVER_PASSWORD, songs: [song('s1', 'Lighthouse Keeper')] });
    keyed = await startSubsonicServer({ username: 'bob', password: 'unused-pw', apiKey: API_KEY, keyOnly: true, songs: [song('k1', 'Keyed Voyage')] });
    // a radio station on loopback: the MP3 again and again, as long as the box listens
    const mp3 = readFileSync(serverFile);
    radio = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'icy-name': 'Loopback FM' });
      const more = () => {
        while (res.write(mp3)) if (res.writableLength > 4 * mp3.length) return;
      };
      res.on('drain', more);
      more();
    });
    await new Promise<void>((r) => radio.listen(0, '127.0.0.1', r));
    radioUrl = `http://127.0.0.1:${(radio.address() as AddressInfo).port}/live.mp3`;
    await boot();
  });
  after(async () => {
    await shutdown().catch(() => {});
    radio?.closeAllConnections();
    radio?.close();
    await server?.close();
    await keyed?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ask(op: string, body: Json): Promise<Json> {
    const n = replies.length;
    await owner.publishAsync(`nearcast/netbox/client/owner1/request/${op}`, JSON.stringify(body));
    return waitFor(`reply to ${op}`, () => replies[n], 10_000);
  }
  const stored = () => {
    try {
      return readFileSync(path.join(stateDir, 'network.json'), 'utf8');
    } catch {
      return '(none)';
    }
  };
  const selectOptions = () => discovery.get('homeassistant/select/netbox/source/config')?.options as string[] | undefined;

  it('only the owner may list or change them', async () => {
    const n = guestReplies.length;
    await guest.publishAsync('nearcast/netbox/client/guest1/request/stations', JSON.stringify({ action: 'add', name: 'Pirate', url: radioUrl }));
    const reply = await waitFor('the guest is answered', () => guestReplies[n], 10_000);
    expect(reply).to.include({ status: 'error' });
    expect(reply.error).to.match(/'stations' is for the box owner/);
    expect((await ask('stations', { action: 'list' })).data).to.deep.equal({ stations: [] });
  });

  it('adds a station: offered at once on state and in Home Assistant select, and it plays', async () => {
    const reply = await ask('stations', { action: 'add', name: 'Loopback FM', url: radioUrl });
    expect(reply.status, JSON.stringify(reply)).to.equal('ok');
    expect(reply.data.station).to.deep.equal({ name: 'Loopback FM', url: radioUrl, from: 'owner' });
    await waitFor(`the station on state (${JSON.stringify(state.sources)})`, () => state.sources?.includes('Loopback FM'), 5000);
    await waitFor(`the station in the select (${JSON.stringify(selectOptions())})`, () => selectOptions()?.includes('Loopback FM'), 5000);
    const before = events.length;
    const chosen = await ask('source', { source: 'Loopback FM' });
    expect(chosen.status, JSON.stringify(chosen)).to.equal('ok');
    const connected = await waitFor(
      `event/stream connected (${JSON.stringify(events.slice(before))})`,
      () => events.slice(before).find((e) => e.name === 'stream' && e.payload.state === 'connected'),
      20_000,
    );
    expect(connected.payload).to.include({ source: 'Loopback FM' });
    await ask('source', { source: 'library' });
  });

  it('refuses a bad entry with the reason, and changes nothing stored', async () => {
    const file = stored();
    const refusals: Array<[string, Json, RegExp]> = [
      ['stations', { action: 'add', name: 'Bad', url: 'ftp://127.0.0.1/x' }, /station 'Bad': url must match pattern/],
      ['stations', { action: 'add', name: 'a:b', url: radioUrl }, /station 'a:b': name must match pattern/],
      ['stations', { action: 'add', name: 'Loopback FM', url: radioUrl }, /a station named 'Loopback FM' exists already/],
      ['stations', { action: 'add', url: radioUrl }, /needs the 'name'/],
      ['stations', { action: 'remove', name: 'Nope' }, /no station named 'Nope'; the box has: Loopback FM/],
      ['stations', { action: 'rename', name: 'x' }, /field 'action' must be one of list, add, remove/],
      ['servers', { action: 'add', name: 'h', url: server.url, username: 'ann' }, /give exactly one of password/],
      ['servers', { action: 'add', name: 'h', url: server.url, username: 'ann', password: 'x', apiKey: 'y' }, /give exactly one of/],
      ['servers', { action: 'add', name: 'h', url: server.url, username: 'ann', apiKey: 'y' }, /an API key goes without a username/],
      ['servers', { action: 'add', name: 'box', url: server.url, username: 'ann', password: 'x' }, /exists already/],
      ['servers', { action: 'add', name: 'h', url: 'http://ann:pw@127.0.0.1:1/', username: 'ann', password: 'x' }, /must not hold credentials/],
      ['servers', { action: 'add', name: 'h', url: server.url, username: 'ann', password: 'x', colour: 'red' }, /unknown field 'colour'/],
      // a key for a server that does not list apiKeyAuthentication
      ['servers', { action: 'add', name: 'h', url: server.url, apiKey: 'y' }, /does not offer API keys/],
    ];
    for (const [op, body, why] of refusals) {
      const reply = await ask(op, body);
      expect(reply.status, `${JSON.stringify(body)} → ${JSON.stringify(reply)}`).to.equal('error');
      expect(reply.error, JSON.stringify(body)).to.match(why);
    }
    expect(stored(), 'network.json after the refusals').to.equal(file);
    expect((await ask('servers', { action: 'list' })).data).to.deep.equal({ servers: [] });
  });

  it('adds servers (password and API key): searched at once, listed with the secrets hidden', async () => {
    const before = await ask('search', { query: 'lighthouse keeper' });
    expect(before.data.results).to.have.length(0);
    const added = await ask('servers', { action: 'add', name: 'home', url: server.url, username: 'ann', password: SERVER_PASSWORD });
    expect(added.status, JSON.stringify(added)).to.equal('ok');
    expect(added.data).to.deep.include({ reachable: true });
    expect(added.data.server).to.deep.equal({ name: 'home', url: server.url, username: 'ann', password: '(hidden)', from: 'owner' });
    const withKey = await ask('servers', { action: 'add', name: 'keyed', url: keyed.url, apiKey: API_KEY });
    expect(withKey.status, JSON.stringify(withKey)).to.equal('ok');
    expect(withKey.data).to.deep.include({ reachable: true });
    const found = await ask('search', { query: 'lighthouse keeper' });
    expect(found.data.results.map((r: Json) => [r.title, r.where])).to.deep.equal([['Lighthouse Keeper', 'home']]);
    const byKey = await ask('search', { query: 'keyed voyage' });
    expect(byKey.data.results.map((r: Json) => [r.title, r.where])).to.deep.equal([['Keyed Voyage', 'keyed']]);
    const keyedSearch = keyed.requests.filter((u) => u.pathname.endsWith('/search3'));
    expect(keyedSearch.length).to.be.at.least(1);
    for (const u of keyedSearch)
      expect(
        ['u', 't', 's', 'p'].filter((k) => u.searchParams.has(k)),
        'salted-token parameters beside the key',
      ).to.deep.equal([]);
    const list = await ask('servers', { action: 'list' });
    expect(list.data.servers.map((s: Json) => [s.name, s.password ?? s.apiKey])).to.deep.equal([
      ['home', '(hidden)'],
      ['keyed', '(hidden)'],
    ]);
    expect(statSync(path.join(stateDir, 'network.json')).mode & 0o777, 'network.json is readable by the box only').to.equal(0o600);
  });

  it("the changes and a server's track in the queue survive a restart; a removal too", async () => {
    const found = await ask('search', { query: 'lighthouse keeper' });
    expect(found.data?.results, JSON.stringify(found)).to.have.length(1);
    const queued = await ask('enqueue', { id: found.data.results[0].id });
    expect(queued.status, JSON.stringify(queued)).to.equal('ok');
    await shutdown();
    state = {};
    await boot();
    expect(state.sources).to.include('Loopback FM');
    await waitFor(`the station in the select after the restart (${JSON.stringify(selectOptions())})`, () => selectOptions()?.includes('Loopback FM'), 5000);
    const queue = await ask('queue', {});
    expect(
      queue.data.queue.map((t: Json) => t.title),
      JSON.stringify(queue.data),
    ).to.include('Lighthouse Keeper');
    // and it still plays: streamed from the server again, its credentials added anew
    const streamsBefore = server.requests.filter((u) => u.pathname.endsWith('/stream')).length;
    const played = await ask('play', { id: found.data.results[0].id });
    expect(played.status, JSON.stringify(played)).to.equal('ok');
    await waitFor(`the queued server track playing after the restart (${JSON.stringify(state.track)})`, () => state.track?.title === 'Lighthouse Keeper', 20_000);
    expect(server.requests.filter((u) => u.pathname.endsWith('/stream')).length).to.be.greaterThan(streamsBefore);
    const keyedAgain = await ask('search', { query: 'keyed voyage' });
    expect(
      keyedAgain.data?.results.map((r: Json) => r.where),
      JSON.stringify(keyedAgain),
    ).to.deep.equal(['keyed']);

    const removed = await ask('stations', { action: 'remove', name: 'Loopback FM' });
    expect(removed.status, JSON.stringify(removed)).to.equal('ok');
    await waitFor('the station gone from state', () => !state.sources?.includes('Loopback FM'), 5000);
    await waitFor('the station gone from the select', () => !selectOptions()?.includes('Loopback FM'), 5000);
    expect((await ask('servers', { action: 'remove', name: 'home' })).status).to.equal('ok');
    const after = await ask('search', { query: 'lighthouse keeper' });
    expect(after.data.results.filter((r: Json) => r.where === 'home')).to.deep.equal([]);
    await shutdown();
    state = {};
    await boot();
    expect(state.sources).to.not.include('Loopback FM');
    expect((await ask('servers', { action: 'list' })).data.servers.map((s: Json) => s.name)).to.deep.equal(['keyed']);
  });

  it('no password or API key on any topic the box published, in any reply, or in the log', async () => {
    const everything = [...seen, ...allLogs, ...box.logs].join('\n');
    expect(seen.length, 'messages checked').to.be.greaterThan(20);
    for (const secret of [SERVER_PASSWORD, API_KEY]) expect(everything.includes(secret), `${secret} leaked`).to.equal(false);
  });
});
