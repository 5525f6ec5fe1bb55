// A listener whose network vanishes (README.md "Reliability"): no FIN, no RST, packets
// simply stop both ways, as when a phone walks out of Wi-Fi range. A real box, a real
// companion (`nearcast join`) reaching both the MQTT port and the stream port through a
// loopback proxy that black-holes them, and an honest companion connected directly.
// The box must free the walker's place within its documented bounds (listener gone
// from `listeners`, `event/leave`, its MQTT connection closed) while the honest
// listener plays on; when the network comes back the walker joins again by itself.

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { startJitterProxy, type JitterProxy } from '../bench/lib/jitter-proxy.ts';
import { runCompanion, startBox, waitFor, type BoxProcess, type CompanionProcess } from '../helpers/box-process.ts';
import { makeTestMusic } from '../helpers/test-music.ts';

/** the box's documented bounds: a silent stream is closed after 30 s (checked each second); a companion's MQTT (keepalive 10 s) after 15 s */
const STREAM_BOUND_MS = 31_000;
const MQTT_BOUND_MS = 15_000;
/** slack for a loaded 2-core machine */
const SLACK_MS = 5000;

interface ListenerLine {
  id: string;
  name: string;
  connected: boolean;
}

const lastStatus = (c: CompanionProcess) =>
  c
    .status()
    .filter((s) => s.state !== undefined)
    .at(-1);
const events = (c: CompanionProcess, name: string) => c.status().filter((s) => s.event === name);
const said = (c: CompanionProcess) => `${c.stderr.slice(-20).join('\n')}${c.proc.exitCode !== null ? `\n(exited with ${c.proc.exitCode})` : ''}`;

describe('a listener whose network vanishes (black-holing proxy on loopback, real box and companions)', function () {
  this.timeout(180_000);
  let dir: string;
  let box: BoxProcess;
  let mqttProxy: JitterProxy;
  let streamProxy: JitterProxy;
  let watcher: mqtt.MqttClient;
  const companions: CompanionProcess[] = [];
  let listeners: ListenerLine[] = [];
  const leaves: Array<{ at: number; name: string; reason: string }> = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-drop-'));
    makeTestMusic(path.join(dir, 'music'), 30);
    box = await startBox(['--music', path.join(dir, 'music'), '--box-id', 'drop', '--policy', 'open', '--audio-device', 'none', '--state-dir', path.join(dir, 'state')], {
      NEARCAST_HARDWARE__SIM: 'true',
    });
    mqttProxy = await startJitterProxy({ targetPort: box.ports.mqtt, maxMs: 0 });
    streamProxy = await startJitterProxy({ targetPort: box.ports.stream, maxMs: 0 });
    watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'drop-watcher', protocolVersion: 4 });
    watcher.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString());
      if (topic.endsWith('/listeners')) listeners = (Array.isArray(body) ? body : body.listeners) as ListenerLine[];
      else leaves.push({ at: Date.now(), name: body.name, reason: body.reason });
    });
    await watcher.subscribeAsync(['nearcast/drop/listeners', 'nearcast/drop/event/leave']);
  });

  after(async () => {
    await Promise.all(companions.map((c) => c.interrupt()));
    await watcher?.endAsync();
    await mqttProxy?.close();
    await streamProxy?.close();
    await box?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('frees the walker within its bounds while the honest listener plays on, and the walker rejoins when the network is back', async () => {
    const honest = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--json', '--name', 'Honest', '--device', 'sim']);
    const walker = runCompanion([
      '--box',
      `127.0.0.1:${mqttProxy.port}`,
      'join',
      '--json',
      '--name',
      'Walker',
      '--device',
      'null',
      '--stream',
      `127.0.0.1:${streamProxy.port}`,
      '--rejoin-timeout',
      '150',
    ]);
    companions.push(honest, walker);
    for (const [c, who] of [
      [honest, 'Honest'],
      [walker, 'Walker'],
    ] as const) {
      await waitFor(`${who} playing`, () => lastStatus(c)?.state === 'playing', 30_000, 100).catch((e: Error) => {
        throw new Error(`${e.message}: ${said(c)}`);
      });
    }
    await waitFor('both listed as connected', () => listeners.filter((l) => l.connected).length === 2, 10_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}: listeners ${JSON.stringify(listeners)}`);
    });
    // the honest listener settles before its figures are taken
    await waitFor('Honest playing for 3 s', () => Number(lastStatus(honest)?.bufferMs ?? 0) > 0 && honest.status().filter((s) => s.state === 'playing').length >= 3, 15_000, 100);
    // a control window as long as the drop will be: what this machine's load alone does to the honest listener
    const controlStart = lastStatus(honest)!;
    const controlMs = STREAM_BOUND_MS;
    await new Promise((r) => setTimeout(r, controlMs));
    const honestBefore = lastStatus(honest)!;
    const control = { underruns: (honestBefore.underruns ?? 0) - (controlStart.underruns ?? 0), resyncs: (honestBefore.resyncs ?? 0) - (controlStart.resyncs ?? 0) };
    const walkerId = listeners.find((l) => l.name === 'Walker')!.id;
    const logsBefore = box.logs.length;

    const droppedAt = Date.now();
    mqttProxy.blackhole(true);
    streamProxy.blackhole(true);

    const leave = await waitFor('event/leave for Walker', () => leaves.find((l) => l.name === 'Walker'), STREAM_BOUND_MS + SLACK_MS, 100).catch((e: Error) => {
      throw new Error(`${e.message} within ${(STREAM_BOUND_MS + SLACK_MS) / 1000} s of the drop; listeners ${JSON.stringify(listeners)}; leaves ${JSON.stringify(leaves)}`);
    });
    const leaveMs = leave.at - droppedAt;
    await waitFor('Walker gone from listeners', () => !listeners.some((l) => l.id === walkerId), 3000, 50).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(listeners)}`);
    });
    const mqttClosed = await waitFor(
      'the box closing the walker’s silent MQTT connection',
      () =>
        box.logs.slice(logsBefore).find((l) => {
          try {
            const j = JSON.parse(l);
            return j.msg === 'MQTT connection silent past its keepalive: closed' && j.clientId === walkerId;
          } catch {
            return false;
          }
        }),
      MQTT_BOUND_MS + SLACK_MS,
      100,
    ).catch((e: Error) => {
      throw new Error(`${e.message} (looked ${(Date.now() - droppedAt) / 1000} s after the drop): ${box.logs.slice(logsBefore).join('\n')}`);
    });
    const mqttMs = Date.parse(JSON.parse(mqttClosed).time ?? new Date().toISOString()) - droppedAt;
    const lost = await waitFor('Walker saying the box went away', () => events(walker, 'box-lost')[0], 20_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}: ${said(walker)}`);
    });

    // the network comes back: the walker joins again by itself
    const backAt = Date.now();
    mqttProxy.blackhole(false);
    streamProxy.blackhole(false);
    const rejoined = await waitFor('Walker rejoined', () => events(walker, 'rejoined')[0], 40_000, 100).catch((e: Error) => {
      throw new Error(`${e.message} within 40 s of the network coming back: ${said(walker)}`);
    });
    const rejoinMs = Date.now() - backAt;
    await waitFor('Walker listed and connected again', () => listeners.some((l) => l.name === 'Walker' && l.connected), 10_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(listeners)}`);
    });
    await waitFor('Walker playing again', () => lastStatus(walker)?.state === 'playing' && lastStatus(walker)?.connection === 'joined', 15_000, 100);
    const honestAfter = lastStatus(honest)!;

    const underruns = (honestAfter.underruns ?? 0) - (honestBefore.underruns ?? 0);
    const resyncs = (honestAfter.resyncs ?? 0) - (honestBefore.resyncs ?? 0);
    const figures = `leave ${(leaveMs / 1000).toFixed(1)} s after the drop (${leave.reason}); MQTT closed ${(mqttMs / 1000).toFixed(1)} s after; the walker noticed (${lost.reason}); rejoined ${(rejoinMs / 1000).toFixed(1)} s after the network came back (${rejoined.attempts} attempts); honest listener: ${underruns} underruns, ${resyncs} resyncs over ${((Date.now() - droppedAt) / 1000).toFixed(0)} s (control, nobody dropping, ${controlMs / 1000} s before: ${control.underruns} underruns, ${control.resyncs} resyncs)`;
    console.log(`      ${figures}`);
    expect(leaveMs, figures).to.be.at.most(STREAM_BOUND_MS + SLACK_MS);
    expect(leave.reason, figures).to.match(/no data from the listener/);
    expect(mqttMs, figures).to.be.at.most(MQTT_BOUND_MS + SLACK_MS);
    expect(honest.proc.exitCode, said(honest)).to.equal(null);
    expect(lastStatus(honest)?.connection, 'the honest listener never lost its box').to.equal('joined');
    expect(events(honest, 'box-lost'), said(honest)).to.have.length(0);
    expect(underruns, `${figures}\n${said(honest)}`).to.equal(0);
    // 0 resyncs is the aim and what an unloaded machine gives; a loaded 2-core machine starves the
    // player now and then with nobody dropping (the control window): the drop may not add to that
    expect(resyncs, `${figures}\n${said(honest)}`).to.be.at.most(Math.max(3, 2 * control.resyncs + 1));
    expect(
      listeners
        .filter((l) => l.connected)
        .map((l) => l.name)
        .sort(),
      'both listening again',
    ).to.deep.equal(['Honest', 'Walker']);
  });
});
