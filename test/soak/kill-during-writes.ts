// kill -9 at random moments while the owner changes the volume: after each
// restart the box must hold the last volume it acknowledged (or one sent after
// it, still in flight when it died), and it must always start.

import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { hashPassword } from '../../firmware/config/password.ts';
import { startBox, type BoxProcess } from '../helpers/box-process.ts';
import { connected, mqttFrom } from './attackers.ts';

let seq = 0;
async function request(c: MqttClient, boxId: string, op: string, body: object, timeoutMs = 10_000): Promise<{ status: string; data?: { volume?: number }; error?: string } | null> {
  const transaction = `t${++seq}`;
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      c.off('message', on);
      resolve(null);
    }, timeoutMs);
    const on = (_topic: string, p: Buffer) => {
      const r = JSON.parse(p.toString());
      if (r.transaction !== transaction) return;
      clearTimeout(t);
      c.off('message', on);
      resolve(r);
    };
    c.on('message', on);
    c.publish(`nearcast/${boxId}/client/${c.options.clientId}/request/${op}`, JSON.stringify({ ...body, transaction }));
  });
}

async function owner(box: BoxProcess): Promise<MqttClient> {
  const c = mqttFrom(box.ports.mqtt, '127.0.0.1', { clientId: 'k9-owner', username: 'owner', password: 'k9' });
  if (!(await connected(c))) throw new Error('the owner could not log in to the restarted box');
  await c.subscribeAsync(`nearcast/${box.boxId}/client/k9-owner/response/+`);
  return c;
}

export async function killDuringWrites(dir: string, kills: number, entry?: string[]): Promise<{ kills: number; lost: number }> {
  const env = { NEARCAST_OWNER__PASSWORDHASH: hashPassword('k9') };
  const args = ['--box-id', 'k9', '--source', 'silence', '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'state')];
  let acked: number | null = null;
  let inFlight: number[] = [];
  let lost = 0;
  for (let i = 0; i <= kills; i++) {
    const box = await startBox(args, env, 60_000, entry);
    const c = await owner(box);
    const status = await request(c, box.boxId, 'status', {});
    const volume = status?.data?.volume;
    if (acked !== null && volume !== acked && !inFlight.includes(volume as number)) {
      lost++;
      process.stderr.write(`soak: kill -9 lost a change: acknowledged ${acked}, in flight ${inFlight.join(',')}, found ${volume}\n`);
    }
    if (i === kills) {
      c.end(true);
      await box.stop();
      break;
    }
    const v = (i * 37 + 11) % 101;
    const r = await request(c, box.boxId, 'volume', { volume: v });
    if (r?.status === 'ok') acked = v;
    // more changes in flight, then the plug is pulled at a random moment
    inFlight = Array.from({ length: 5 }, (_, j) => (v + 13 * (j + 1)) % 101);
    for (const x of inFlight)
      void request(c, box.boxId, 'volume', { volume: x }, 2000).then((rr) => {
        if (rr?.status === 'ok') acked = x;
      });
    await new Promise((r) => setTimeout(r, Math.random() * 40));
    box.proc.kill('SIGKILL');
    await new Promise((r) => box.proc.once('exit', r));
    c.end(true);
  }
  return { kills, lost };
}
