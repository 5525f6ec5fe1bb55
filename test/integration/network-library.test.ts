// The library made of backends end to end: a real box with its own music folder and an
// OpenSubsonic server (test/helpers/subsonic-server.ts, built from the specification's
// documented responses: no OpenSubsonic server installs here), a real companion that
// joins asking for a song only the server has, an owner and a watcher on MQTT.
// Checked: search merges both and says where each song lives; the companion's output
// correlates with the server's track (so it came from the server, decoded by the box);
// a server that cuts a song half-way lets the box play what arrived, then move on with
// event/error; the server's password and tokens appear on no topic and in no log line.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { makeFilePcmConfig } from '../helpers/alsa-file-pcm.ts';
import { ffmpegDecode, firstSound, readRaw, windowedCorrelation } from '../helpers/audio-compare.ts';
import { runCompanion, startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { startSubsonicServer, type SubsonicTestServer } from '../helpers/subsonic-server.ts';
import { makeTestMusic } from '../helpers/test-music.ts';
import { hashPassword } from '../../firmware/config/password.ts';

const SERVER_PASSWORD = 'server-secret-8c1f';
const BYTES_PER_SECOND = 48000 * 4;

describe("a music server beside the box's own files (real box and companion; OpenSubsonic test server)", function () {
  this.timeout(240_000);
  let dir: string;
  let server: SubsonicTestServer;
  let serverFile: string;
  let alsaConfig: string;
  let box: BoxProcess;
  let watch: mqtt.MqttClient;
  let owner: mqtt.MqttClient;
  const seenPayloads: string[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: JSON from MQTT, its shape is what the assertions check
  const events: Array<{ name: string; payload: Record<string, any> }> = [];
  // biome-ignore lint/suspicious/noExplicitAny: JSON from MQTT, its shape is what the assertions check
  let state: Record<string, any> = {};
  // biome-ignore lint/suspicious/noExplicitAny: JSON from MQTT, its shape is what the assertions check
  const replies: Array<Record<string, any>> = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-netlib-'));
    const tracks = makeTestMusic(path.join(dir, 'music'), 20);
    // the server's song: music-like but unlike anything on the box (a track played backwards), as MP3
    serverFile = path.join(dir, 'server', 'harbour.mp3');
    mkdirSync(path.dirname(serverFile), { recursive: true });
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', tracks[0]!.file, '-af', 'areverse', '-c:a', 'libmp3lame', '-b:a', '192k', serverFile]);
    server = await startSubsonicServer({
      username: 'ann',
      password: SERVER_PASSWORD,
      songs: [{ id: 's1', title: 'Harbour Lights', artist: 'Remote Band', album: 'Far Away', file: serverFile, durationS: 20, contentType: 'audio/mpeg', suffix: 'mp3' }],
    });
    const cfg = path.join(dir, 'box.yaml');
    writeFileSync(cfg, `servers:\n  - name: home\n    url: ${server.url}\n    username: ann\n    passwordEnv: NC_TEST_SERVER_PW\n`);
    const alsa = makeFilePcmConfig(path.join(dir, 'alsa'), ['nc_net']);
    alsaConfig = alsa.configPath;
    box = await startBox(
      [
        '--config',
        cfg,
        '--music',
        path.join(dir, 'music'),
        '--codec',
        'pcm',
        '--policy',
        'open',
        '--audio-device',
        'none',
        '--no-keyboard',
        '--state-dir',
        path.join(dir, 'state'),
      ],
      { NC_TEST_SERVER_PW: SERVER_PASSWORD, NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw') },
      90_000,
    );
    const prefix = `nearcast/${box.boxId}/`;
    watch = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'watch', protocolVersion: 4 });
    watch.on('message', (topic, p) => {
      seenPayloads.push(`${topic} ${p.toString()}`);
      const payload = JSON.parse(p.toString());
      if (topic === prefix + 'state') state = payload;
      else if (topic.startsWith(prefix + 'event/')) events.push({ name: topic.slice((prefix + 'event/').length), payload });
    });
    await watch.subscribeAsync([prefix + 'state', prefix + 'event/#', prefix + 'listeners']);
    owner = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'owner1', username: 'owner', password: 'pw', protocolVersion: 4 });
    owner.on('message', (topic, p) => {
      seenPayloads.push(`${topic} ${p.toString()}`);
      replies.push(JSON.parse(p.toString()));
    });
    await owner.subscribeAsync(`${prefix}client/owner1/response/#`);
  });
  after(async () => {
    await watch?.endAsync();
    await owner?.endAsync();
    await box?.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // biome-ignore lint/suspicious/noExplicitAny: JSON from MQTT, its shape is what the assertions check
  async function ask(op: string, body: Record<string, unknown>): Promise<Record<string, any>> {
    const n = replies.length;
    await owner.publishAsync(`nearcast/${box.boxId}/client/owner1/request/${op}`, JSON.stringify(body));
    return waitFor(`reply to ${op}`, () => replies[n], 10_000);
  }
  const seen = () => `state ${JSON.stringify(state)}\nevents ${JSON.stringify(events)}`;

  it('search merges the box and the server, each result saying where it lives', async () => {
    const reply = await ask('search', { query: 'harbour' });
    expect(reply.status, JSON.stringify(reply)).to.equal('ok');
    expect(reply.data.results).to.have.length(1);
    expect(reply.data.results[0]).to.include({ title: 'Harbour Lights', artist: 'Remote Band', where: 'home', durationMs: 20000 });
    const both = await ask('search', { query: 'moon' });
    expect(both.data.results[0]).to.include({ title: 'Moon River', where: 'box' });
  });

  it("a companion joining with --song of a server's track hears that track", async () => {
    const out = path.join(path.dirname(alsaConfig), 'nc_net.raw');
    const comp = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', 'net', '--song', 'harbour lights', '--device', 'nc_net', '--codec', 'pcm', '--json'], {
      ...process.env,
      ALSA_CONFIG_PATH: alsaConfig,
    });
    const size = () => {
      try {
        return statSync(out).size;
      } catch {
        return 0;
      }
    };
    let code: number | null = null;
    try {
      await waitFor('playing', () => comp.status().some((s) => s.state === 'playing'), 30_000);
      await waitFor(`the server's track on state (${seen()})`, () => state.track?.title === 'Harbour Lights', 20_000).catch((e) => {
        throw new Error(`${e.message}\n${seen()}`);
      });
      expect(state.track).to.include({ artist: 'Remote Band', album: 'Far Away' });
      // its cover art comes from the server through the box's web port, like a file's
      const art = await fetch(`http://127.0.0.1:${box.ports.http}/art/${encodeURIComponent(state.track.id)}`);
      expect(art.status).to.equal(200);
      expect(art.headers.get('content-type')).to.equal('image/png');
      await waitFor('6 s of output', () => size() > 6 * BYTES_PER_SECOND, 40_000);
    } finally {
      code = await comp.interrupt();
    }
    expect(code, comp.stderr.join(' | ')).to.equal(0);
    const reference = ffmpegDecode(serverFile);
    const recorded = readRaw(out);
    // from 1.5 s in (the join may first hear the box's own track for the playout latency), 100 ms windows
    const rs = windowedCorrelation(reference, recorded, firstSound(recorded) / 2 + 72000, 4800, 30);
    expect(rs.length, 'windows compared').to.be.at.least(25);
    expect(Math.min(...rs), `worst of ${rs.length} windows against the server's track`).to.be.at.least(0.99);
  });

  it('a server that cuts the song half-way: the box plays what arrived, then moves on with event/error', async () => {
    server.streamFraction = 0.3;
    const errorsBefore = events.filter((e) => e.name === 'error').length;
    const reply = await ask('play', { query: 'harbour lights' });
    expect(reply.status, JSON.stringify(reply)).to.equal('ok');
    expect(reply.data.playing).to.include({ title: 'Harbour Lights', where: 'home' });
    const error = await waitFor('event/error', () => events.filter((e) => e.name === 'error')[errorsBefore], 30_000).catch((e) => {
      throw new Error(`${e.message}\n${seen()}`);
    });
    expect(error.payload.message, seen()).to.match(/Harbour Lights \(home\)/);
    await waitFor('the box moved on to another track', () => state.track && state.track.title !== 'Harbour Lights', 20_000).catch((e) => {
      throw new Error(`${e.message}\n${seen()}`);
    });
    expect(state.state).to.equal('playing');
    server.streamFraction = 1;
  });

  it("the server's password and tokens appear on no topic and in no log line", () => {
    const secrets = [SERVER_PASSWORD, ...server.requests.flatMap((r) => [r.searchParams.get('t'), r.searchParams.get('s')]).filter((x): x is string => !!x)];
    expect(secrets.length, 'tokens the server saw').to.be.greaterThan(4);
    const everywhere = [...seenPayloads, ...box.logs].join('\n');
    for (const secret of secrets) expect(everywhere.includes(secret), `'${secret}' leaked`).to.equal(false);
    expect(everywhere).not.to.match(/[?&](t|s|p|u)=/);
  });
});
