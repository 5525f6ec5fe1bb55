// A process hosting many stream listeners for the load benchmark. Each joins over
// MQTT like a real companion (its own client id and join request), then plays
// through a Player on a virtual DAC, counting underruns.
//
//   node --import tsx test/bench/lib/swarm.ts <mqttPort> <count> <codec> <namePrefix>
// stdin commands: "mark" (start of the measured window), "report" (one JSON line of
// per-listener counts since the mark), "quit". stdout: {"ready":n} once all play.

import readline from 'node:readline';
import { BoxClient } from '../../../companion/client/box-client.ts';
import { startListener, type Listener } from './rig.ts';

const [mqttPort, countArg, codec, prefix] = process.argv.slice(2);
const count = Number(countArg);
if (!Number(mqttPort) || !Number.isInteger(count) || count < 1 || !codec || !['opus', 'pcm'].includes(codec)) {
  process.stderr.write('usage: swarm.ts <mqttPort> <count> <opus|pcm> <namePrefix>\n');
  process.exit(2);
}

interface Member {
  client: BoxClient;
  listener: Listener;
  markUnderruns: number;
}
const members: Member[] = [];

async function joinOne(i: number): Promise<Member> {
  const name = `${prefix}${i}`;
  const client = await BoxClient.connect({ url: `mqtt://127.0.0.1:${mqttPort}`, clientId: `bench-${name}` });
  const reply = await client.request<{ stream: { tcpPort: number; token: string } }>('join', { name, codec }, { timeoutMs: 30_000 });
  if (reply.status !== 'ok' || !reply.data) throw new Error(`${name}: join refused: ${reply.error}`);
  let onStart!: () => void;
  let timer: NodeJS.Timeout | undefined;
  const playing = new Promise<void>((resolve, reject) => {
    onStart = () => {
      clearTimeout(timer);
      resolve();
    };
    timer = setTimeout(() => reject(new Error(`${name}: no sound within 20 s`)), 20_000);
  });
  const listener = await startListener({ port: reply.data.stream.tcpPort, token: reply.data.stream.token, name, ppm: 0, onStarted: () => onStart() });
  await playing;
  return { client, listener, markUnderruns: 0 };
}

// join in small groups: a crowd arriving, not one burst of 100 TCP connects
for (let i = 0; i < count; i += 5) {
  const group = await Promise.all(Array.from({ length: Math.min(5, count - i) }, (_, k) => joinOne(i + k)));
  members.push(...group);
}
process.stdout.write(JSON.stringify({ ready: members.length }) + '\n');

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const cmd = line.trim();
  if (cmd === 'mark') {
    for (const m of members) m.markUnderruns = m.listener.player.stats().underruns;
    process.stdout.write(JSON.stringify({ marked: members.length }) + '\n');
  } else if (cmd === 'report') {
    const listeners = members.map((m) => ({ name: m.listener.name, underruns: m.listener.player.stats().underruns - m.markUnderruns }));
    process.stdout.write(JSON.stringify({ listeners }) + '\n');
  } else if (cmd === 'quit') {
    rl.close();
    await Promise.all(
      members.map(async (m) => {
        await m.listener.close();
        await m.client.close();
      }),
    );
    process.exit(0);
  }
});
