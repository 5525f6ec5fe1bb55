// `make soak`: a real box process under attack from loopback while an honest
// listener (`nearcast join`) plays; figures for the README's "Reliability" table.
// `--quick` (also run by `make test`, test/integration/soak.test.ts) uses small counts.
//
// Method: each phase runs against the same box; between phases the box's RSS and
// open file descriptors are read from /proc, the honest listener's underruns and
// resyncs from its --json status lines. RSS is sampled every 200 ms throughout.
// kill -9 runs against a second box whose state is checked after each restart.
// The box's capture source reads a private PulseAudio server, so that its device
// can be unplugged (capture-unplug.ts).
// Limits: one machine, loopback only; the attackers and the box share its CPU.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOX_NODE_FLAGS, buildBox } from '../../firmware/build.ts';
import { hashPassword } from '../../firmware/config/password.ts';
import { encodeFrame, FrameType, PROTOCOL_VERSION } from '../../firmware/wire/frames.ts';
import { runCompanion, startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { makeTestMusic } from '../helpers/test-music.ts';
import { attackerAddress, closed, connected, fuzzOp, fuzzPayload, mqttFrom, randomBytes, socketFrom } from './attackers.ts';
import { startCaptureRig, unplugCapture, warmUpCapture, type UnplugResult } from './capture-unplug.ts';
import { killDuringWrites } from './kill-during-writes.ts';
import { vanishListeners, type VanishResult } from './vanished-listeners.ts';

export interface PhaseResult {
  phase: string;
  actions: number;
  seconds: number;
  underruns: number;
  resyncs: number;
  rssMB: number;
  fds: number;
}
export interface SoakResult {
  quick: boolean;
  phases: PhaseResult[];
  rss: { startMB: number; endMB: number; maxMB: number };
  fds: { start: number; end: number };
  /** `lostStream`: times it lost the box's stream (and joined again): never, if the box holds up */
  honest: { underruns: number; resyncs: number; playing: boolean; lostStream: number };
  refused: Record<string, number>;
  state: { kills: number; lost: number };
  capture: UnplugResult;
  /** listeners whose network vanished (no close): how long until the box listed none of them */
  vanished: VanishResult;
}

const rssMB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inBatches<T>(n: number, concurrency: number, job: (i: number) => Promise<T>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < n) await job(i++);
    }),
  );
}

export async function runSoak(quick: boolean, log: (m: string) => void = (m) => process.stderr.write(m + '\n')): Promise<SoakResult> {
  const k = quick ? 0.02 : 1; // share of the full counts
  const count = (full: number) => Math.max(2, Math.round(full * k));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-soak-'));
  const tracks = makeTestMusic(path.join(dir, 'music'), 40);
  // the box as deployed: the esbuild bundle with its V8 flags (the tsx loader alone adds about 40 MB)
  const entry = [...BOX_NODE_FLAGS, await buildBox()];
  const rig = await startCaptureRig();
  const box = await startBox(
    ['--music', path.join(dir, 'music'), '--box-id', 'soak', '--policy', 'open', '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'state')],
    { ...rig.env, NEARCAST_OWNER__PASSWORDHASH: hashPassword('soak-owner'), NEARCAST_TELEMETRY__INTERVALSECONDS: '1' },
    60_000,
    entry,
  ).catch(async (e: Error) => {
    await rig.stop();
    throw e;
  });
  const pid = box.proc.pid!;
  const honest = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', 'honest', '--device', 'sim', '--json']);
  let maxRss = 0;
  const sampler = setInterval(() => {
    try {
      maxRss = Math.max(maxRss, rssMB(pid));
    } catch {
      /* exited */
    }
  }, 200);
  const phases: PhaseResult[] = [];
  let refused: Record<string, number> = {};
  let state = { kills: 0, lost: 0 };
  let capture: UnplugResult = { unplugs: 0, errors: 0, recovered: 0, recoverMs: [] };
  let vanished: VanishResult = { listeners: 0, freedMs: null };
  try {
    await waitFor('the honest listener playing', () => honest.status().some((s) => s.state === 'playing'), 60_000);
    await warmUpCapture(box, 'soak-owner'); // its one-time library load is not a fault's doing
    await sleep(3000); // settled: start figures after the join's own work
    // status lines only (a listener that lost the box also prints event lines)
    const lastStatus = () =>
      honest
        .status()
        .filter((s) => s.state !== undefined)
        .at(-1);
    const figures = () => {
      const s = lastStatus() ?? {};
      return { underruns: Number(s.underruns ?? 0), resyncs: Number(s.resyncs ?? 0) };
    };
    const start = { rss: rssMB(pid), fds: fdCount(pid), ...figures() };
    const phase = async (name: string, body: () => Promise<number>) => {
      const before = figures();
      const t0 = Date.now();
      const actions = await body();
      const seconds = (Date.now() - t0) / 1000;
      await sleep(1500);
      const after = figures();
      phases.push({ phase: name, actions, seconds, underruns: after.underruns - before.underruns, resyncs: after.resyncs - before.resyncs, rssMB: rssMB(pid), fds: fdCount(pid) });
      log(
        `soak: ${name}: ${actions} in ${seconds.toFixed(1)} s, listener underruns +${after.underruns - before.underruns}, resyncs +${after.resyncs - before.resyncs}, RSS ${rssMB(pid).toFixed(1)} MB, fds ${fdCount(pid)}`,
      );
    };

    // the control: what this machine does to the listener with nobody attacking
    await phase('control: no attack', async () => {
      await sleep(quick ? 5000 : 30_000);
      return 0;
    });
    await phase('fuzzed requests over every op (10 clients)', () => fuzzRequests(box, count(10_000)));
    await phase('raw garbage MQTT and stream frames', () => rawFrames(box, count(2_000)));
    await phase('connect/disconnect cycles', () => cycles(box, count(1_000)));
    await phase('garbage + slow-loris connections on each port', () => garbageAndLoris(box, count(200)));
    await phase('stalled listeners flooding time requests', () => stalledListeners(box, count(50)));
    await phase('listeners whose network vanished (black-holed, never closed)', async () => {
      vanished = await vanishListeners(box, count(50));
      return vanished.listeners;
    });
    await phase('login storm (wrong passwords)', () => loginStorm(box, count(500)));
    await phase('source faults (ffmpeg killed, file deleted mid-song)', () =>
      sourceFaults(
        box,
        pid,
        tracks.map((t) => t.file),
      ),
    );
    await phase('capture unplugged (its PulseAudio source unloaded, loaded again)', async () => {
      capture = await unplugCapture(box, rig, 'soak-owner', quick ? 1 : 3, quick ? 3000 : 10_000);
      return capture.unplugs;
    });
    await phase('kill -9 during state writes (second box)', async () => {
      state = await killDuringWrites(path.join(dir, 'kill'), count(50), entry);
      return state.kills;
    });

    // let closed sockets and timers settle, then the end figures
    await waitFor('file descriptors back to the start count', () => fdCount(pid) <= start.fds, 30_000).catch(() => {});
    const end = { rss: rssMB(pid), fds: fdCount(pid), ...figures() };
    refused = await lastTelemetry(box);
    return {
      quick,
      phases,
      rss: { startMB: start.rss, endMB: end.rss, maxMB: maxRss },
      fds: { start: start.fds, end: end.fds },
      vanished,
      honest: {
        underruns: end.underruns - start.underruns,
        resyncs: end.resyncs - start.resyncs,
        playing: lastStatus()?.state === 'playing' && honest.proc.exitCode === null,
        lostStream: honest.status().filter((s) => s.event === 'box-lost').length,
      },
      refused,
      state,
      capture,
    };
  } finally {
    clearInterval(sampler);
    await honest.interrupt();
    await box.stop();
    await rig.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function lastTelemetry(box: BoxProcess): Promise<Record<string, number>> {
  const c = mqttFrom(box.ports.mqtt, '127.0.0.1', { clientId: 'soak-telemetry' });
  if (!(await connected(c))) return {};
  await c.subscribeAsync(`nearcast/${box.boxId}/telemetry`);
  const msg = await new Promise<Record<string, unknown>>((resolve) => c.once('message', (_t, p) => resolve(JSON.parse(p.toString()))));
  await c.endAsync();
  return (msg.refused ?? {}) as Record<string, number>;
}

async function fuzzRequests(box: BoxProcess, n: number): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const c = mqttFrom(box.ports.mqtt, attackerAddress(10), { clientId: `fuzz${i}` });
      return (await connected(c)) ? c : null;
    }),
  );
  let sent = 0;
  const live = clients.filter((c): c is NonNullable<typeof c> => c !== null);
  for (let i = 0; i < n && live.length; i++) {
    const c = live[i % live.length]!; // live is not empty (the loop's condition)
    c.publish(`nearcast/${box.boxId}/client/${c.options.clientId}/request/${fuzzOp()}`, fuzzPayload());
    sent++;
    if (i % 200 === 199) await sleep(20); // let replies flow
  }
  await sleep(500);
  await Promise.all(live.map((c) => c.endAsync()));
  return sent;
}

async function rawFrames(box: BoxProcess, n: number): Promise<number> {
  await inBatches(n, 100, async (i) => {
    const port = i % 2 ? box.ports.mqtt : box.ports.stream;
    const s = await socketFrom(port, attackerAddress(11));
    // garbage, or a frame header declaring a huge body, or a hello with a forged token
    const kind = i % 3;
    s.write(
      kind === 0
        ? randomBytes(64 + (i % 512))
        : kind === 1
          ? Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3])
          : encodeFrame({ type: FrameType.Hello, version: PROTOCOL_VERSION, token: 'forged' + i }),
    );
    if (!(await closed(s, 12_000))) s.destroy();
  });
  return n;
}

async function cycles(box: BoxProcess, n: number): Promise<number> {
  await inBatches(n, 10, async (i) => {
    const c = mqttFrom(box.ports.mqtt, attackerAddress(12), { clientId: `cyc${i}` });
    if (await connected(c)) await c.endAsync();
    else c.end(true);
  });
  return n;
}

async function garbageAndLoris(box: BoxProcess, n: number): Promise<number> {
  const ports = [box.ports.mqtt, box.ports.http, box.ports.stream];
  const all: Array<Promise<void>> = [];
  for (const port of ports) {
    for (let i = 0; i < n; i++) {
      all.push(
        socketFrom(port, attackerAddress(13)).then(async (s) => {
          s.write(randomBytes(1024 + (i % 3000)));
          if (!(await closed(s, 20_000))) s.destroy();
        }),
      );
      all.push(
        socketFrom(port, attackerAddress(14)).then(async (s) => {
          // slow-loris: the start of something valid, one byte a second
          const start = port === box.ports.http ? Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ') : Buffer.from([0x10, 0xff, 0x7f, 0, 4]);
          for (let b = 0; b < 40 && !s.destroyed; b++) {
            s.write(start.subarray(b % start.length, (b % start.length) + 1));
            await sleep(1000);
          }
          s.destroy();
        }),
      );
    }
  }
  await Promise.all(all);
  return n * 2 * ports.length;
}

async function stalledListeners(box: BoxProcess, n: number): Promise<number> {
  let stalled = 0;
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const address = attackerAddress(15);
      const id = `stall${i}`;
      const c = mqttFrom(box.ports.mqtt, address, { clientId: id });
      if (!(await connected(c))) return;
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
      if (!grant?.stream) return void c.end(true);
      const s = await socketFrom(box.ports.stream, address);
      s.pause(); // never reads: the box's replies and audio pile up on its side
      s.write(encodeFrame({ type: FrameType.Hello, version: PROTOCOL_VERSION, token: grant.stream.token, name: id }));
      stalled++;
      const flood = setInterval(() => {
        for (let j = 0; j < 100; j++) s.write(encodeFrame({ type: FrameType.TimeRequest, t1: j }));
      }, 10);
      await sleep(8000);
      clearInterval(flood);
      s.destroy();
      c.end(true);
    }),
  );
  return stalled;
}

async function loginStorm(box: BoxProcess, n: number): Promise<number> {
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const c = mqttFrom(box.ports.mqtt, attackerAddress(16), { clientId: `login${i}`, username: 'owner', password: `guess${i}` });
      await connected(c);
      c.end(true);
    }),
  );
  return n;
}

/** the box's ffmpeg decoder is killed, then the file it plays is deleted */
async function sourceFaults(box: BoxProcess, pid: number, files: string[]): Promise<number> {
  const children = () => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  const ffmpegs = () =>
    children().filter((c) => {
      try {
        return readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'ffmpeg';
      } catch {
        return false;
      }
    });
  let faults = 0;
  for (const child of ffmpegs()) {
    process.kill(child, 'SIGKILL');
    faults++;
  }
  await sleep(3000);
  for (const child of ffmpegs()) {
    const args = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0');
    const playing = files.find((f) => args.includes(f));
    if (playing) {
      rmSync(playing, { force: true });
      faults++;
    }
  }
  await sleep(3000);
  void box;
  return faults;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const { writeResult, table } = await import('../bench/lib/report.ts');
  const r = await runSoak(quick);
  console.log(
    table(
      ['phase', 'actions', 's', 'listener underruns', 'listener resyncs', 'box RSS MB', 'box fds'],
      r.phases.map((p) => [p.phase, p.actions, p.seconds, p.underruns, p.resyncs, p.rssMB, p.fds]),
    ),
  );
  console.log(
    `RSS start ${r.rss.startMB.toFixed(1)} MB, end ${r.rss.endMB.toFixed(1)} MB, max ${r.rss.maxMB.toFixed(1)} MB; fds ${r.fds.start} → ${r.fds.end}; ` +
      `honest listener: ${r.honest.underruns} underruns, ${r.honest.resyncs} resyncs, playing ${r.honest.playing}, lost its stream ${r.honest.lostStream} times; state: ${r.state.kills} kills, ${r.state.lost} lost; ` +
      `capture: ${r.capture.unplugs} unplugs, ${r.capture.errors} errors reported, ${r.capture.recovered} recovered (${r.capture.recoverMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')} after plugging back in)`,
  );
  console.log(
    `vanished listeners: ${r.vanished.listeners} playing, all gone from the box ${r.vanished.freedMs === null ? 'NOT within the wait' : `${(r.vanished.freedMs / 1000).toFixed(1)} s`} after the drop`,
  );
  console.log('refused (telemetry):', JSON.stringify(r.refused));
  writeResult(quick ? 'soak-quick' : 'soak', r);
}
