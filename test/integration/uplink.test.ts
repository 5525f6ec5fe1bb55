// The uplink against Debian's Mosquitto 2 speaking MQTT 5, with a real box process:
// a client that behaves like Home Assistant (protocol 5, subscribes homeassistant/#,
// checks each discovery payload, commands through the command topics, sees the box
// state change), an owner's requests coming down, guests on the embedded broker
// kept out, and a broker outage: the box runs on, its events wait on disk and
// arrive once each after Mosquitto comes back.

import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { hashPassword } from '../../firmware/config/password.ts';
import { runCompanion, startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { deviceDiscoveryProblems, templateKeys } from '../helpers/ha-discovery-check.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';

interface Seen {
  topic: string;
  text: string;
  retain: boolean;
  id?: string;
}
/** a JSON object as it arrived (an event, a queued item) */
type Json = Record<string, unknown>;
interface TrackJson {
  id: string;
  title: string;
  artist: string;
  durationMs: number;
}
/** the parts of `state` the checks read (README "MQTT topics") */
interface StateJson {
  box?: { id: string; name: string };
  state?: string;
  track?: TrackJson | null;
  positionMs?: number;
  volume?: number;
  source?: string;
  sharing?: { open: boolean; remainingMs: number };
  listeners?: number;
}
interface ReplyJson {
  status: string;
  error?: string;
  transaction?: string | number;
  data?: { you?: unknown };
}
type ComponentJson = Record<string, unknown> & { p: string; state_topic?: string; command_topic?: string; options?: string[]; value_template?: string };
interface DiscoveryJson {
  o: { name: string };
  availability: Array<{ topic: string }>;
  cmps: Record<string, ComponentJson>;
}

const BOX = 'upl';
const BASE = `shops/shop-a/${BOX}/`;

describe('uplink to Mosquitto 2 over MQTT 5 (real box process)', function () {
  this.timeout(120_000);
  let dir: string;
  let broker: Mosquitto;
  let box: BoxProcess;
  let ha: mqtt.MqttClient;
  let fleet: mqtt.MqttClient;
  let owner: mqtt.MqttClient;
  const seen: Seen[] = [];
  let state: StateJson = {};
  /** "title — artist" of every track the state showed (the demo tracks are short: one may end during a check) */
  const tracksSeen = new Set<string>();
  let discovery: DiscoveryJson | null = null;
  let discoveries = 0;
  /** what arrived on the cover topic (image bytes) */
  const covers: Buffer[] = [];

  const eventsSeen = (name?: string) => seen.filter((m) => m.topic.startsWith(BASE + 'event/') && (!name || m.topic === BASE + 'event/' + name));

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-uplink-'));
    broker = await startMosquitto({ users: { box: 'box-secret', ha: 'ha-secret', fleet: 'fleet-secret' } });
    writeFileSync(path.join(dir, 'uplink-password'), 'box-secret\n');
    box = await startBox(['--sim', '--no-keyboard', '--box-id', BOX, '--audio-device', 'none', '--state-dir', path.join(dir, 'state')], {
      NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
      NEARCAST_SOURCES: '["tone:440"]',
      NEARCAST_MQTT__UPLINK__URL: broker.url,
      NEARCAST_MQTT__UPLINK__USERNAME: 'box',
      NEARCAST_MQTT__UPLINK__PASSWORDFILE: path.join(dir, 'uplink-password'),
      NEARCAST_MQTT__UPLINK__PREFIX: 'shops/shop-a',
      NEARCAST_MQTT__UPLINK__RECONNECTMINSECONDS: '0.2',
      NEARCAST_MQTT__UPLINK__RECONNECTMAXSECONDS: '1',
    });
    // like Home Assistant: MQTT 5, a session that outlives a broker restart, discovery and the box topics
    ha = await mqtt.connectAsync(broker.url, {
      protocolVersion: 5,
      clientId: 'home-assistant',
      username: 'ha',
      password: 'ha-secret',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 200,
    });
    ha.on('message', (topic, payload, packet) => {
      if (topic === BASE + 'cover') covers.push(payload);
      const text = payload.toString();
      const id = packet.properties?.userProperties?.id;
      seen.push({ topic, text, retain: packet.retain, ...(typeof id === 'string' ? { id } : {}) });
      if (topic === BASE + 'state') {
        state = JSON.parse(text);
        if (state.track) tracksSeen.add(`${state.track.title} — ${state.track.artist}`);
      }
      if (topic === `homeassistant/device/${BOX}/config` && text) {
        discovery = JSON.parse(text);
        discoveries++;
      }
    });
    await ha.subscribeAsync(['homeassistant/#', BASE + '#'], { qos: 1 });
    fleet = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'fleet', username: 'fleet', password: 'fleet-secret', reconnectPeriod: 200 });
    await fleet.subscribeAsync(BASE + 'client/fleet/response/+', { qos: 1 });
    owner = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'me', username: 'owner', password: 'pw', protocolVersion: 4 });
    await waitFor(
      'the box online on the uplink, with its state and discovery',
      () => state.box && discovery && seen.some((m) => m.topic === BASE + 'availability' && m.text.includes('online')),
      20_000,
    );
  });

  after(async () => {
    try {
      for (const client of [ha, fleet, owner]) client?.end(true);
      if (box && box.proc.exitCode === null && box.proc.signalCode === null) await box.stop();
    } finally {
      await broker?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  /** an owner's request down the uplink, and its reply */
  let transactions = 0;
  async function ask(op: string, payload: string | object, options: mqtt.IClientPublishOptions = {}): Promise<ReplyJson> {
    const transaction = `t${++transactions}`;
    const body = typeof payload === 'string' ? payload : JSON.stringify({ ...payload, transaction });
    const reply = new Promise<ReplyJson>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to '${op}' ${body.slice(0, 80)} within 15 s`)), 15_000);
      const onMessage = (topic: string, p: Buffer) => {
        if (!topic.endsWith(`/response/${op.slice(0, 64)}`)) return;
        const answer = JSON.parse(p.toString()) as ReplyJson;
        if (typeof payload !== 'string' && answer.transaction !== transaction) return;
        clearTimeout(timer);
        fleet.off('message', onMessage);
        resolve(answer);
      };
      fleet.on('message', onMessage);
    });
    await fleet.publishAsync(`${BASE}client/fleet/request/${op}`, body, { qos: 1, ...options });
    return reply;
  }

  it('announces one device that Home Assistant accepts, every template reading a field the state has', () => {
    const payload = discovery!;
    expect(deviceDiscoveryProblems(payload), 'problems Home Assistant would refuse').to.deep.equal([]);
    const cmps = payload.cmps;
    const platforms = Object.values(cmps).map((c) => c.p);
    for (const p of ['sensor', 'number', 'select', 'button', 'switch', 'text', 'image', 'device_automation']) expect(platforms, `a ${p}`).to.include(p);
    expect(Object.keys(cmps)).to.include.members(['title', 'artist', 'album', 'cover', 'listeners', 'volume', 'source', 'play_pause', 'next', 'previous', 'share', 'announce']);
    expect(cmps.cover).to.include({ image_topic: BASE + 'cover' });
    expect(payload.o.name).to.equal('nearcast');
    expect(payload.availability[0]?.topic).to.equal(BASE + 'availability');
    for (const [key, component] of Object.entries(cmps)) {
      if (component.state_topic) expect(component.state_topic, key).to.equal(BASE + 'state');
      if (component.command_topic) expect(component.command_topic, key).to.equal(`${BASE}ha/${key}/set`);
      if (component.p !== 'device_automation') for (const field of templateKeys(component)) expect(state, `${key} reads value_json.${field}`).to.have.property(field);
    }
    expect(cmps.source!.options).to.deep.equal(['library', 'tone:440']);
  });

  it("the cover entity's topic carries the now-playing picture (the track's, or the placeholder), as image bytes", async () => {
    await waitFor('a cover on the uplink', () => covers.length > 0, 10_000);
    const magic = covers.at(-1)!.subarray(0, 4).toString('hex');
    expect(['ffd8', '8950'], `first bytes ${magic}`).to.include(magic.slice(0, 4));
  });

  it('the discovery message is retained: a Home Assistant that connects later finds it', async () => {
    const late = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'late-ha', username: 'ha', password: 'ha-secret', reconnectPeriod: 0 });
    try {
      const retained = new Promise<boolean>((resolve) => late.once('message', (_topic, _payload, packet) => resolve(packet.retain)));
      await late.subscribeAsync(`homeassistant/device/${BOX}/config`, { qos: 1 });
      expect(await retained, 'retain flag').to.equal(true);
    } finally {
      await late.endAsync();
    }
  });

  it('announces again when Home Assistant publishes online on homeassistant/status', async () => {
    const before = discoveries;
    await ha.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await waitFor('discovery republished', () => discoveries > before, 10_000);
  });

  it("a station the owner adds or removes down the uplink is in the device's source select at once", async () => {
    const added = await ask('stations', { action: 'add', name: 'Uplink FM', url: 'http://127.0.0.1:9/uplink.mp3' });
    expect(added.status, JSON.stringify(added)).to.equal('ok');
    await waitFor(`the select offers it (${JSON.stringify(discovery?.cmps.source?.options)})`, () => discovery?.cmps.source?.options?.includes('Uplink FM'), 10_000);
    expect((await ask('stations', { action: 'remove', name: 'Uplink FM' })).status).to.equal('ok');
    await waitFor('the select without it', () => discovery?.cmps.source?.options?.join() === 'library,tone:440', 10_000);
  });

  it('Home Assistant commands change the box: volume, source, share switch, transport buttons', async () => {
    await ha.publishAsync(`${BASE}ha/volume/set`, '23', { qos: 1 });
    await waitFor(`volume 23 (state says ${state.volume})`, () => state.volume === 23, 10_000);
    await ha.publishAsync(`${BASE}ha/share/set`, 'ON', { qos: 1 });
    await waitFor('share window open', () => state.sharing?.open === true, 10_000);
    await ha.publishAsync(`${BASE}ha/share/set`, 'OFF', { qos: 1 });
    await waitFor('share window closed', () => state.sharing?.open === false, 10_000);
    // the demo tracks are short: start where the track cannot end by itself during next and previous
    // (positionMs may be up to 5 s old)
    await waitFor('a track with 12 s left', () => state.track && state.track.durationMs - (state.positionMs ?? 0) > 12_000, 30_000);
    const first = state.track!.id;
    await ha.publishAsync(`${BASE}ha/next/set`, 'PRESS', { qos: 1 });
    await waitFor('the next track', () => state.track?.id && state.track.id !== first, 10_000);
    await ha.publishAsync(`${BASE}ha/previous/set`, 'PRESS', { qos: 1 });
    await waitFor(`back to ${first} (now ${state.track?.id})`, () => state.track?.id === first, 10_000);
    await ha.publishAsync(`${BASE}ha/play_pause/set`, 'PRESS', { qos: 1 });
    await waitFor(`paused (state ${state.state})`, () => state.state === 'paused', 10_000);
    await ha.publishAsync(`${BASE}ha/play_pause/set`, 'PRESS', { qos: 1 });
    await waitFor(`playing (state ${state.state})`, () => state.state === 'playing', 10_000);
    await ha.publishAsync(`${BASE}ha/announce/set`, 'Closing in ten minutes', { qos: 1 });
    await waitFor('the announcement told on the uplink', () => eventsSeen('announcement').some((m) => (JSON.parse(m.text) as Json).title === 'Closing in ten minutes'), 10_000);
    await ha.publishAsync(`${BASE}ha/source/set`, 'tone:440', { qos: 1 });
    await waitFor('source tone:440', () => state.source === 'tone:440', 10_000);
    await ha.publishAsync(`${BASE}ha/source/set`, 'library', { qos: 1 });
    await waitFor('source library', () => state.source === 'library', 10_000);
  });

  it('a button press fires the matching device trigger: event/button with an id, matched through the template', async () => {
    const before = eventsSeen('button').length;
    await owner.publishAsync(`nearcast/${BOX}/sim/button`, JSON.stringify({ button: 'volumeUp', gesture: 'click' }));
    await waitFor('event/button on the uplink', () => eventsSeen('button').length > before, 10_000);
    const message = eventsSeen('button').at(-1)!;
    const event = JSON.parse(message.text) as Json;
    expect(event).to.include({ button: 'volumeUp', gesture: 'click' });
    expect(event.id).to.be.a('string').and.equal(message.id);
    const trigger = discovery!.cmps.volumeUp_click!;
    expect(trigger).to.include({ topic: BASE + 'event/button', type: 'button_short_press', subtype: 'volumeUp', payload: 'volumeUp_click' });
    expect(trigger.value_template).to.equal('{{ value_json.button }}_{{ value_json.gesture }}');
    expect(`${event.button}_${event.gesture}`).to.equal(trigger.payload);
  });

  it("the owner's requests come down and are answered; bad ones get clear errors and the box runs on", async () => {
    const status = await ask('status', {});
    expect(status.status).to.equal('ok');
    expect(status.data?.you).to.deep.equal({ role: 'owner', listening: false });
    expect(await ask('volume', { volume: 31 })).to.deep.include({ status: 'ok' });
    await waitFor('volume 31 on the uplink state', () => state.volume === 31, 10_000);
    expect((await ask('volume', '{"volume": 3')).error).to.match(/^malformed JSON/);
    expect((await ask('volume', { volume: 'loud' })).error).to.match(/volume/);
    expect((await ask('colour', '{}')).error).to.match(/^unknown operation 'colour'/);
    expect((await ask('join', { name: 'x' })).error).to.equal("'join' is not available over the uplink: listeners join on the box's own network");
    expect((await ask('status', '\u00ff'.repeat(3))).status).to.equal('error');
    expect((await ask('share', { action: 'open' }, { retain: true })).error).to.match(/retained request is refused/);
    await fleet.publishAsync(`${BASE}client/fleet/request/share`, '', { qos: 1, retain: true }); // clears the retained request
    // larger than the box accepts (MQTT 5 maximum packet size): the broker drops it for the box, which never sees it
    const untagged: string[] = [];
    const onReply = (topic: string, p: Buffer) => {
      if (topic.endsWith('/response/status') && !p.toString().includes('"transaction"')) untagged.push(p.toString().slice(0, 100));
    };
    fleet.on('message', onReply);
    await fleet.publishAsync(`${BASE}client/fleet/request/status`, 'x'.repeat(100_000), { qos: 1 });
    expect((await ask('status', {})).status, 'the box still answers').to.equal('ok');
    fleet.off('message', onReply);
    expect(untagged, 'replies to the oversized request').to.deep.equal([]);
    expect(box.proc.exitCode).to.equal(null);
  });

  it('`nearcast fleet` lists the box and asks its status over the broker', async () => {
    const env = { ...process.env, NEARCAST_PASSWORD: 'fleet-secret', NEARCAST_FLEET_BROKER: broker.url };
    const list = runCompanion(['--user', 'fleet', 'fleet', '--prefix', 'shops/shop-a', 'list'], env);
    expect(await list.exited, list.stderr.join('\n')).to.equal(0);
    expect(list.stdout[0]).to.match(/^BOX +ONLINE +VERSION +STATE +LISTENERS +VOLUME +NOW PLAYING$/);
    const row = /^(\S+) +(\S+) +(\S+) +(\S+) +(\S+) +(\S+) +(.+)$/.exec(list.stdout[1] ?? '');
    expect(row?.slice(1, 7), list.stdout.join('\n')).to.deep.equal([BOX, 'yes', JSON.parse(readFileSync('package.json', 'utf8')).version, 'playing', '0', String(state.volume)]);
    expect([...tracksSeen], 'now playing').to.include(row![7]);
    const status = runCompanion(['--user', 'fleet', 'fleet', '--prefix', 'shops/shop-a', 'status', BOX], env);
    expect(await status.exited, status.stderr.join('\n')).to.equal(0);
    const line = /^nearcast \(upl\): playing — (.+)$/.exec(status.stdout[0] ?? '');
    expect([...tracksSeen], status.stdout.join('\n')).to.include(line?.[1]);
    const missing = runCompanion(['--user', 'fleet', 'fleet', '--prefix', 'shops/shop-a', '--timeout', '2', 'status', 'nobox'], env);
    expect(await missing.exited).to.equal(1);
    expect(missing.stderr.join('\n')).to.match(/box 'nobox': no reply within 2 s/);
    const volume = runCompanion(['--user', 'fleet', 'fleet', '--prefix', 'shops/shop-a', 'volume', BOX, '44'], env);
    expect(await volume.exited, volume.stderr.join('\n')).to.equal(0);
    expect(volume.stdout).to.deep.equal([`${BOX}  ok     volume 44`]);
    await waitFor('volume 44 on the uplink state', () => state.volume === 44, 10_000);
  });

  it('nothing a guest on the embedded broker does appears on the uplink', async () => {
    const marker = `guest-marker-${Date.now()}`;
    const guest = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'guest1', protocolVersion: 4, reconnectPeriod: 0 });
    await guest.subscribeAsync('nearcast/upl/client/guest1/response/+');
    const replied = new Promise<string>((resolve) => guest.once('message', (_t, p) => resolve(p.toString())));
    await guest.publishAsync('nearcast/upl/client/guest1/request/search', JSON.stringify({ query: marker }));
    expect(await replied, 'the guest is answered on the embedded broker').to.match(/"status":"ok"/);
    const closed = new Promise<void>((resolve) => guest.once('close', () => resolve()));
    guest.publish(`nearcast/${BOX}/event/${marker}`, marker);
    guest.publish(`shops/shop-a/${BOX}/state`, marker);
    await closed; // a refused publish closes the connection
    guest.end(true);
    // the box's own news still goes up after the guest's attempts: the uplink is working, and carried none of them
    expect(await ask('volume', { volume: 32 })).to.deep.include({ status: 'ok' });
    await waitFor('volume 32 on the uplink', () => state.volume === 32, 10_000);
    const leaked = seen.filter((m) => m.text.includes(marker) || m.topic.includes(marker) || m.topic.includes('guest1'));
    expect(leaked, 'messages carrying the guest marker').to.deep.equal([]);
  });

  it('with Mosquitto down the box runs on and queues its events on disk; after the restart each arrives once', async () => {
    const connectedBefore = box.logs.filter((l) => l.includes('"uplink connected"')).length;
    const from = seen.length;
    await broker.stop();
    await waitFor('the box notices the uplink is lost', () => box.logs.some((l) => l.includes('uplink lost')), 20_000);
    // meanwhile, on the box's own network, the owner works as usual
    const local: Json[] = [];
    await owner.subscribeAsync([`nearcast/${BOX}/event/+`, `nearcast/${BOX}/client/me/response/+`]);
    owner.on('message', (topic, p) => {
      if (topic.includes('/event/')) local.push({ name: topic.split('/').at(-1), ...JSON.parse(p.toString()) });
    });
    const request = async (op: string, body: object) => {
      const answer = new Promise<ReplyJson>((resolve) => {
        const onMessage = (topic: string, p: Buffer) => {
          if (topic.endsWith(`/response/${op}`)) {
            owner.off('message', onMessage);
            resolve(JSON.parse(p.toString()));
          }
        };
        owner.on('message', onMessage);
      });
      await owner.publishAsync(`nearcast/${BOX}/client/me/request/${op}`, JSON.stringify(body));
      return answer;
    };
    expect((await request('share', { action: 'open' })).status).to.equal('ok');
    expect((await request('share', { action: 'close' })).status).to.equal('ok');
    expect((await request('control', { action: 'next' })).status).to.equal('ok');
    await waitFor('the box told its events locally', () => local.filter((e) => e.name === 'share').length >= 2 && local.some((e) => e.name === 'track'), 15_000);
    const offline = [...local];
    const outbox = path.join(dir, 'state', 'uplink-outbox.json');
    const onDisk = () => (existsSync(outbox) ? (JSON.parse(readFileSync(outbox, 'utf8')) as { events: Json[] }).events : []);
    await waitFor(`the ${offline.length} events on disk (have ${onDisk().length})`, () => onDisk().length >= offline.length, 10_000);

    await broker.start();
    await waitFor('the box reconnects', () => box.logs.filter((l) => l.includes('"uplink connected"')).length > connectedBefore, 30_000);
    const key = (e: Json) => JSON.stringify({ ...e, id: undefined, at: undefined, name: undefined });
    const arrived = (upTo = seen.length) =>
      seen
        .slice(from, upTo)
        .filter((m) => m.topic.startsWith(BASE + 'event/'))
        .map((m) => ({ name: m.topic.split('/').at(-1), ...JSON.parse(m.text) }) as Json);
    await waitFor('every queued event on the uplink', () => offline.every((e) => arrived().some((a) => a.name === e.name && key(a) === key(e))), 30_000);
    // a later event goes up behind the queue: once it is there, the queue has drained
    const sentinelFrom = seen.length;
    expect(await ask('share', { action: 'open', seconds: 600 })).to.deep.include({ status: 'ok' });
    await waitFor('the share event after the queue', () => arrived().some((a) => a.name === 'share' && Number(a.remainingMs) > 300_000), 15_000);
    await waitFor('the outbox empty on disk', () => onDisk().length === 0, 10_000);
    const ids = eventsSeen().map((m) => m.id);
    expect(
      ids.every((id) => typeof id === 'string'),
      'every event carries an id',
    ).to.equal(true);
    const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
    expect(repeated, 'ids that arrived twice').to.deep.equal([]);
    for (const e of offline) {
      const copies = arrived(sentinelFrom).filter((a) => a.name === e.name && key(a) === key(e) && a.id !== undefined);
      expect(copies.length, `copies of ${e.name} ${key(e)}`).to.equal(1);
    }
  });

  it("the broker tells the box's last will when the box dies", async () => {
    const before = seen.length;
    const exited = new Promise((resolve) => box.proc.once('exit', resolve));
    box.proc.kill('SIGKILL');
    await exited;
    await waitFor('availability offline (the will)', () => seen.slice(before).some((m) => m.topic === BASE + 'availability' && JSON.parse(m.text).state === 'offline'), 30_000);
  });
});
