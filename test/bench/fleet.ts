// fleet — many boxes uplinked to one Mosquitto (README "Fleet").
//
// What: with `--boxes` boxes (200) on one Debian Mosquitto 2: the time for all of them to
// connect and publish their retained topics; the time to list the fleet (`listFleet`, what
// `nearcast fleet list` does, from a fresh connection; and once the `nearcast fleet list`
// command itself, Node's start-up included); a command fanned out to every box at once and
// each box's acknowledgement (`volume`, what `nearcast fleet volume all` sends: the time from
// the fan-out's start to each reply, p50/p95/max, and to the last one), `--rounds` times; a
// steady phase where every box publishes telemetry every `--telemetry-every` seconds; and the
// broker's CPU (seconds of CPU per second, per phase) and memory (VmRSS, VmHWM) from
// /proc/<pid> of the mosquitto process.
//
// Method: the boxes are the box's own uplink code (firmware/extensions/uplink.ts: one mqtt.js
// MQTT 5 connection each, last will, retained availability, state and Home Assistant
// discovery, the request path, the telemetry outbox on disk) driven in this one process
// (test/helpers/in-process-uplink.ts), without audio and with a request router that answers
// at once. Every box logs in with one shared login (the broker checks a password at each
// connection all the same); the fleet side logs in with another. Loopback only.
//
// Limits: one 2-core machine shared by the broker, the 200 uplinks and the fleet client, so
// the fan-out times include this process's own queueing (200 replies parsed by one event
// loop) and are an upper bound for a broker with real boxes; a real box's request does more
// (the change written to disk before the reply: a few ms); no TLS (mqtts adds a handshake per
// connection and some CPU per message); no ACL checks (an acl_file adds a pattern match per
// message and subscription).
//
//   node --import tsx test/bench/fleet.ts [--boxes 200] [--rounds 5] [--steady 10] [--telemetry-every 2] [--quick]

import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { askBox, listFleet, subscribeReplies } from '../../companion/cli/fleet-client.ts';
import type { Telemetry } from '../../firmware/extensions/telemetry.ts';
import { sleep } from '../../firmware/util/time.ts';
import { ROOT } from '../helpers/box-process.ts';
import { inProcessBox, type InProcessBox } from '../helpers/in-process-uplink.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { parseArgs, summarize, table, writeResult } from './lib/report.ts';

const args = parseArgs(process.argv.slice(2), { boxes: 200, rounds: 5, steady: 10, telemetryEvery: 2, quick: false });
const boxCount = args.quick ? Math.min(50, args.boxes as number) : (args.boxes as number);
const rounds = args.quick ? 2 : (args.rounds as number);
const steadyS = args.quick ? 3 : (args.steady as number);
const telemetryEveryS = args.telemetryEvery as number;
if (!Number.isInteger(boxCount) || boxCount < 1 || boxCount > 1000) throw new Error(`--boxes: 1…1000, got ${args.boxes}`);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error(`--rounds: 1…50, got ${args.rounds}`);
if (!(steadyS >= 1 && steadyS <= 300)) throw new Error(`--steady: 1…300 s, got ${args.steady}`);
if (!(telemetryEveryS >= 0.1 && telemetryEveryS <= 60)) throw new Error(`--telemetry-every: 0.1…60 s, got ${args.telemetryEvery}`);

const PREFIX = 'nearcast/bench';
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim()) || 100;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
}
function memMB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Waits for `done`, checking every 50 ms; throws with `what` after `ms`. */
async function until(what: string, done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`not within ${ms / 1000} s: ${what}`);
    await sleep(50);
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-fleet-bench-'));
const broker = await startMosquitto({ users: { box: 'box-secret', fleet: 'fleet-secret' } });
const boxes: InProcessBox[] = [];
let fleet: MqttClient | null = null;
try {
  const pid = broker.pid();
  if (pid === null) throw new Error('mosquitto is not running');
  const phases: Array<{ phase: string; seconds: number; cpuPerSecond: number; rssMB: number; benchCpuPerSecond: number }> = [];
  /** runs one phase and records the broker's CPU over it and its RSS at its end */
  async function phase<T>(name: string, work: () => Promise<T>): Promise<T> {
    const cpu0 = cpuSeconds(pid!);
    const own0 = cpuSeconds(process.pid);
    const t0 = performance.now();
    const result = await work();
    const seconds = (performance.now() - t0) / 1000;
    phases.push({ phase: name, seconds, cpuPerSecond: (cpuSeconds(pid!) - cpu0) / seconds, rssMB: memMB(pid!).rss, benchCpuPerSecond: (cpuSeconds(process.pid) - own0) / seconds });
    return result;
  }
  const idleMB = memMB(pid).rss;

  // 1. every box connects and publishes availability, state and discovery (retained)
  const ids = Array.from({ length: boxCount }, (_, i) => `b${String(i).padStart(3, '0')}`);
  const telemetry = new EventEmitter();
  const publishers = telemetry as unknown as Pick<Telemetry, 'on' | 'off'>;
  for (const id of ids) {
    boxes.push(
      inProcessBox(id, dir, { url: broker.url, username: 'box', password: 'box-secret', prefix: PREFIX, keepaliveSeconds: 60 }, { volume: 40 }, { telemetry: publishers }),
    );
  }
  telemetry.setMaxListeners(boxCount + 10);
  fleet = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'nearcast-fleet-bench', username: 'fleet', password: 'fleet-secret', reconnectPeriod: 0 });
  const client = fleet;
  client.setMaxListeners(0); // one listener per reply awaited, as in connectFleet
  const { connectS, visibleS } = await phase('connect', async () => {
    const t0 = performance.now();
    await Promise.all(boxes.map((b) => b.uplink.start()));
    await until(`${boxCount} boxes connected (${boxes.filter((b) => b.uplink.connected).length} so far)`, () => boxes.every((b) => b.uplink.connected), 60_000);
    const connected = (performance.now() - t0) / 1000;
    // and every box's retained availability and state on the broker: what a fleet list sees
    for (let attempt = 0; ; attempt++) {
      const listed = await listFleet(client, PREFIX);
      if (listed.filter((b) => b.online && b.volume !== null).length === boxCount) break;
      if (attempt >= 200) throw new Error(`only ${listed.filter((b) => b.online).length} of ${boxCount} boxes online in the list`);
      await sleep(50);
    }
    return { connectS: connected, visibleS: (performance.now() - t0) / 1000 };
  });
  const listMs: number[] = [];
  await phase('list', async () => {
    for (let run = 0; run < rounds; run++) {
      const t0 = performance.now();
      const listed = await listFleet(client, PREFIX);
      listMs.push(performance.now() - t0);
      if (listed.filter((b) => b.online).length !== boxCount) throw new Error(`the list held ${listed.length} boxes, not ${boxCount} online`);
    }
  });

  // the command itself, as a user runs it (a new process: Node and tsx start, connect, list)
  const cliMs = await phase('list (CLI)', async () => {
    const t0 = performance.now();
    const listed = await new Promise<number>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'companion/cli/main.ts', '--user', 'fleet', 'fleet', '--broker', broker.url, '--prefix', PREFIX, 'list', '--json'],
        {
          cwd: ROOT,
          env: { ...process.env, NEARCAST_PASSWORD: 'fleet-secret' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('exit', (code) => {
        if (code !== 0) return reject(new Error(`nearcast fleet list exited ${code}: ${err}`));
        resolve((JSON.parse(out) as unknown[]).length);
      });
    });
    if (listed !== boxCount) throw new Error(`nearcast fleet list printed ${listed} boxes, not ${boxCount}`);
    return performance.now() - t0;
  });

  // 2. a command to every box at once, each acknowledgement timed from the start of the fan-out
  const ackMs: number[] = [];
  const allAckedMs: number[] = [];
  await phase('fan-out', async () => {
    // as `nearcast fleet volume all` does (askEach): one subscription to every box's replies, then every request at once
    await subscribeReplies(client, PREFIX, 'volume');
    for (let round = 0; round < rounds; round++) {
      const t0 = performance.now();
      const replies = await Promise.all(
        ids.map(async (id) => {
          const reply = await askBox(client, PREFIX, id, 'volume', { volume: 30 + round }, 30, true);
          if (reply.status !== 'ok') throw new Error(`${id}: ${reply.error}`);
          return performance.now() - t0;
        }),
      );
      ackMs.push(...replies);
      allAckedMs.push(Math.max(...replies));
    }
  });
  const asked = boxes.reduce((sum, b) => sum + b.asked.filter((a) => a.op === 'volume').length, 0);
  if (asked !== boxCount * rounds) throw new Error(`the boxes saw ${asked} volume requests, not ${boxCount * rounds}`);

  // 3. steady: every box publishes telemetry every telemetryEvery seconds (QoS 1, through its outbox)
  const sent = await phase('steady telemetry', async () => {
    let count = 0;
    const end = performance.now() + steadyS * 1000;
    while (performance.now() < end) {
      telemetry.emit('published', JSON.stringify({ cpu: 0.1, temperatureC: 50, at: Date.now() }));
      count++;
      await sleep(telemetryEveryS * 1000);
    }
    await until('the telemetry acknowledged', () => boxes.every((b) => b.uplink.queuedTelemetry === 0), 30_000);
    return count * boxCount;
  });

  const mem = memMB(pid);
  const ack = summarize(ackMs);
  const listSummary = summarize(listMs);
  const allAcked = summarize(allAckedMs);
  const byPhase = Object.fromEntries(phases.map((p) => [p.phase, p]));
  console.log(`fleet: ${boxCount} boxes (the box's uplink code in process) on one Mosquitto 2, MQTT 5, loopback\n`);
  console.log(
    table(
      ['measure', 'value'],
      [
        ['all boxes connected (s)', connectS],
        ['all boxes online with their state in the fleet list (s)', visibleS],
        [`fleet list, ${boxCount} boxes, p50 / max (ms, ${listMs.length} runs)`, `${listSummary.p50.toFixed(0)} / ${listSummary.max.toFixed(0)}`],
        ['nearcast fleet list as a command, Node start included (ms)', cliMs],
        [`fan-out to ${boxCount}: ack p50 / p95 / max (ms, ${rounds} rounds)`, `${ack.p50.toFixed(0)} / ${ack.p95.toFixed(0)} / ${ack.max.toFixed(0)}`],
        ['fan-out: last ack, p50 / max (ms)', `${allAcked.p50.toFixed(0)} / ${allAcked.max.toFixed(0)}`],
        [`telemetry messages in the steady phase (${(boxCount / telemetryEveryS).toFixed(0)}/s)`, sent],
        ['broker RSS idle / with the fleet / peak (MB)', `${idleMB.toFixed(1)} / ${mem.rss.toFixed(1)} / ${mem.peak.toFixed(1)}`],
        [`this process: ${boxCount} uplinks and the fleet client, RSS (MB)`, process.memoryUsage().rss / 2 ** 20],
      ],
    ),
  );
  console.log('\nbroker CPU by phase (CPU seconds per second; 1.00 = one core)\n');
  console.log(
    table(
      ['phase', 'seconds', 'broker CPU', 'broker RSS MB', 'boxes + fleet client CPU'],
      phases.map((p) => [p.phase, p.seconds, p.cpuPerSecond, p.rssMB, p.benchCpuPerSecond]),
    ),
  );
  const file = writeResult('fleet', {
    method: 'the uplink code of each box in one process (mqtt.js, MQTT 5), one Debian Mosquitto 2 on loopback; broker CPU and memory from /proc',
    boxes: boxCount,
    rounds,
    connectSeconds: connectS,
    onlineInListSeconds: visibleS,
    listMs: listSummary,
    cliListMs: cliMs,
    fanOutAckMs: ack,
    fanOutLastAckMs: allAcked,
    steady: { seconds: steadyS, telemetryEverySeconds: telemetryEveryS, messages: sent },
    broker: { idleRssMB: idleMB, rssMB: mem.rss, peakRssMB: mem.peak, phases: byPhase },
    benchProcessRssMB: process.memoryUsage().rss / 2 ** 20,
  });
  console.log(`\nwrote ${file}`);
} finally {
  fleet?.end(true);
  await Promise.all(boxes.map((b) => b.uplink.stop()));
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
}
