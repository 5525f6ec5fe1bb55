// Soak phase: listeners whose network vanishes (README.md "Reliability"). Each joins over
// MQTT (keepalive 10 s, as the companions) and plays its stream, both through loopback
// proxies (test/bench/lib/jitter-proxy.ts) from its own address, sending time requests
// as a companion does; then the proxies black-hole every connection at once (nothing
// forwarded, nothing closed). Measured: how long until the box lists none of them.

import type { MqttClient } from 'mqtt';
import type net from 'node:net';
import { startJitterProxy } from '../bench/lib/jitter-proxy.ts';
import { encodeFrame, FrameType, PROTOCOL_VERSION } from '../../firmware/wire/frames.ts';
import type { BoxProcess } from '../helpers/box-process.ts';
import { attackerAddress, connected, mqttFrom, socketFrom } from './attackers.ts';

export interface VanishResult {
  /** listeners that joined and played before the drop */
  listeners: number;
  /** ms from the drop until the box listed none of them (null: not within the wait) */
  freedMs: number | null;
}

/** the box's bound (a silent stream is closed after 30 s, checked each second) and slack for a loaded machine */
const FREED_WITHIN_MS = 31_000 + 15_000;

export async function vanishListeners(box: BoxProcess, n: number): Promise<VanishResult> {
  const mqttProxy = await startJitterProxy({ targetPort: box.ports.mqtt, maxMs: 0, localAddress: () => attackerAddress(18) });
  const streamProxy = await startJitterProxy({ targetPort: box.ports.stream, maxMs: 0, localAddress: () => attackerAddress(19) });
  const clients: MqttClient[] = [];
  const sockets: net.Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const watcher = mqttFrom(box.ports.mqtt, attackerAddress(20), { clientId: 'vanish-watch' });
  let listed: Array<{ id: string; connected: boolean }> = [];
  try {
    if (!(await connected(watcher))) throw new Error('the watcher could not connect');
    watcher.on('message', (_t, p) => {
      listed = JSON.parse(p.toString());
    });
    await watcher.subscribeAsync(`nearcast/${box.boxId}/listeners`);
    const ids = (
      await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const id = `gone${i}`;
          const c = mqttFrom(mqttProxy.port, '127.0.0.1', { clientId: id, keepalive: 10 });
          clients.push(c);
          if (!(await connected(c))) return null;
          await c.subscribeAsync(`nearcast/${box.boxId}/client/${id}/response/+`);
          const grant = await new Promise<{ stream?: { token: string } } | null>((resolve) => {
            const t = setTimeout(() => resolve(null), 10_000);
            c.once('message', (_t, p) => {
              clearTimeout(t);
              const r = JSON.parse(p.toString());
              resolve(r.status === 'ok' ? r.data : null);
            });
            c.publish(`nearcast/${box.boxId}/client/${id}/request/join`, '{"codec":"pcm"}');
          });
          if (!grant?.stream) return null;
          const s = await socketFrom(streamProxy.port, '127.0.0.1');
          sockets.push(s);
          s.on('data', () => {}); // reads and drops the audio, as a player would consume it
          s.write(encodeFrame({ type: FrameType.Hello, version: PROTOCOL_VERSION, token: grant.stream.token, name: id }));
          timers.push(setInterval(() => s.writable && s.write(encodeFrame({ type: FrameType.TimeRequest, t1: Date.now() })), 100));
          return id;
        }),
      )
    ).filter((id): id is string => id !== null);
    const ours = () => listed.filter((l) => ids.includes(l.id));
    const deadline = Date.now() + 10_000;
    while (ours().filter((l) => l.connected).length < ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const playing = ours().filter((l) => l.connected).length;
    const droppedAt = Date.now();
    mqttProxy.blackhole(true);
    streamProxy.blackhole(true);
    let freedMs: number | null = null;
    while (Date.now() - droppedAt < FREED_WITHIN_MS) {
      if (ours().length === 0) {
        freedMs = Date.now() - droppedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return { listeners: playing, freedMs };
  } finally {
    for (const t of timers) clearInterval(t);
    mqttProxy.blackhole(false); // the network is back: what the box closed meanwhile is reset
    streamProxy.blackhole(false);
    for (const c of clients) c.end(true);
    for (const s of sockets) s.destroy();
    watcher.end(true);
    await mqttProxy.close();
    await streamProxy.close();
  }
}
