// Source switches with a clocked live input: a real box capturing the monitor of a
// PulseAudio null sink (through ALSA's `pulse` PCM) while a tone plays into it, a real
// companion on the virtual DAC, then on `pulse`, then on PipeWire's own ALSA PCM (a
// PipeWire null sink), and the owner switching capture →
// library → capture over MQTT. A switch changes the samples, never the timeline, so the
// companion must not resync or underrun, and the box must send no restart, hole or stale
// chunk. What it may do is what it does without switches: single-frame corrections for its
// clock estimate and device (≤ 0.1 % of the 10 s), and a resync that it measured itself as
// CPU starvation (its queue ran out before its next write) is the machine's: set aside with
// its frames, and printed.

import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { runCompanion, startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { startPulseNullSink, type PulseServer } from '../helpers/pulse-null-sink.ts';
import { pipewireAlsaConfig } from '../helpers/pipewire-alsa.ts';
import { pipewireMissing, startPipewireNullSink, type PipewireServer } from '../helpers/pipewire-null-sink.ts';
import { makeTestMusic } from '../helpers/test-music.ts';
import { hashPassword } from '../../firmware/config/password.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** what one move of a PipeWire stream may cost in corrections: two 1024-frame quanta and some (seen: 43 ms) */
const MOVE_FRAMES_ASIDE = 3000;
/** ...and a resync after one: a new stream, the audio due while its report is judged skipped (seen: 67,254 frames) */
const NEW_STREAM_FRAMES_ASIDE = 1.6 * 48000;

/** pacat playing a 440 Hz tone into the sink, in real time, for `seconds` */
function playTone(pulse: PulseServer, seconds: number): ChildProcess {
  const tone = Buffer.alloc(48000 * 4 * seconds);
  for (let i = 0; i < 48000 * seconds; i++) {
    const v = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 48000));
    tone.writeInt16LE(v, i * 4);
    tone.writeInt16LE(v, i * 4 + 2);
  }
  const p = spawn('pacat', ['--playback', `--device=${pulse.sink}`, '--format=s16le', '--rate=48000', '--channels=2', '--raw', '--latency-msec=50'], {
    env: { ...process.env, PULSE_SERVER: pulse.server },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  p.stdin!.on('error', () => undefined);
  p.stdin!.end(tone);
  return p;
}

describe('switching between a clocked live input and the library (real box; companion on the virtual DAC, on `pulse`, on PipeWire)', function () {
  this.timeout(90_000);
  let dir: string;
  let pulse: PulseServer;
  let box: BoxProcess | null = null;
  let pipewire: PipewireServer | null = null; // the PipeWire case's server, stopped after it (or in after())

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-live-switch-'));
    makeTestMusic(path.join(dir, 'music'), 20);
    pulse = await startPulseNullSink('nc_live');
  });
  after(async () => {
    if (box) await box.stop();
    await pipewire?.stop();
    await pulse?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const device of ['sim', 'pulse', 'pipewire'] as const) {
    it(`capture → library → capture, companion on ${device}: no resync, no underrun, corrections ≤ 0.1 %`, async function () {
      // on PipeWire the companion plays through PipeWire's own ALSA PCM into a null sink of a PipeWire server
      // (quantum 1024, as in pipewire-sync.test.ts); the box still captures from the PulseAudio sink
      if (device === 'pipewire' && pipewireMissing()) {
        console.log(`      skipping: ${pipewireMissing()}`);
        this.skip();
      }
      pipewire = device === 'pipewire' ? await startPipewireNullSink('nc_pw_play', { quantum: 1024 }) : null;
      const tone = playTone(pulse, 60);
      const cfg = path.join(dir, 'box.yaml');
      writeFileSync(cfg, 'sources: [capture:pulse]\n');
      const pulseEnv = { PULSE_SERVER: pulse.server, PULSE_SOURCE: `${pulse.sink}.monitor` };
      box = await startBox(
        [
          '--config',
          cfg,
          '--source',
          'capture:pulse',
          '--music',
          path.join(dir, 'music'),
          '--policy',
          'open',
          '--audio-device',
          'none',
          '--no-keyboard',
          '--state-dir',
          path.join(dir, `state-${device}`),
        ],
        { ...pulseEnv, NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw') },
      );
      // on `pulse` the companion plays into a second null sink of the same server (not the one the box captures)
      if (device === 'pulse')
        spawnSync('pactl', ['load-module', 'module-null-sink', 'sink_name=nc_play', 'rate=48000', 'channels=2'], { env: { ...process.env, PULSE_SERVER: pulse.server } });
      const alsa = pipewire ? pipewireAlsaConfig(dir, pipewire.sink) : null;
      const compEnv =
        device === 'pulse'
          ? { ...process.env, PULSE_SERVER: pulse.server, PULSE_SINK: 'nc_play' }
          : alsa && pipewire
            ? { ...process.env, ...pipewire.env, ...alsa.env }
            : process.env;
      const comp = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--name', 'sw', '--device', alsa?.pcm ?? device, '--json'], compEnv);
      let exit: number | null = null;
      const owner = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'owner1', username: 'owner', password: 'pw', protocolVersion: 4 });
      const replies: Array<Record<string, unknown>> = [];
      await owner.subscribeAsync(`nearcast/${box.boxId}/client/owner1/response/#`);
      owner.on('message', (_t, p) => replies.push(JSON.parse(p.toString())));
      const select = async (source: string) => {
        const n = replies.length;
        await owner.publishAsync(`nearcast/${box!.boxId}/client/owner1/request/source`, JSON.stringify({ source }));
        await waitFor(`reply to source ${source}`, () => replies.length > n, 5000);
        expect(replies[n], `reply to source ${source}`).to.deep.include({ status: 'ok' });
      };
      try {
        await waitFor('playing', () => comp.status().some((s) => s.state === 'playing'), 15_000);
        await sleep(3000); // past the companion's settling
        // ...and past any step of its device's line still being worked off softly (a sound server
        // that moved by tens of ms as the stream started): the switches are what is judged here
        await waitFor(
          () => `the companion back within 1 ms of its device model (${JSON.stringify(comp.status().at(-1))})`,
          () => Math.abs((comp.status().at(-1)?.syncErrorMs as number) ?? Number.NaN) < 1,
          20_000,
        );
        const before = comp.status().at(-1)!;
        const logFrom = { stdout: comp.stdout.length, stderr: comp.stderr.length };
        await select('library');
        await sleep(2500);
        await select('capture:pulse');
        await sleep(2500);
        await select('library');
        await sleep(2500);
        await select('capture:pulse');
        await sleep(2500);
        const last = comp.status().at(-1)!;
        const moved = (k: string) => (last[k] as number) - (before[k] as number);
        const report = `companion before the switches ${JSON.stringify(before)}\nafter ${JSON.stringify(last)}\nits log: ${[...comp.stdout.filter((l) => !l.startsWith('{')), ...comp.stderr].join(' | ')}`;
        expect(last.state, report).to.equal('playing');
        // restarts (a new timeline), concealed (a seq hole) and discarded (a stale or repeated
        // chunk) show what the box sent; the rest what the companion had to do about it
        // A resync the companion measured as its own starvation (its next write came after its queue had run out: the
        // machine did not schedule it) is the machine's, not the switch's: it is set aside, with its frames, and told.
        const starved = [...comp.stdout.slice(logFrom.stdout), ...comp.stderr.slice(logFrom.stderr)].flatMap((l) => {
          const m = /resync: (-?\d+(?:\.\d+)?) ms off \(the device ran dry: this player's next audio came (\d+) ms after its queue ran out/.exec(l);
          return m ? [{ offMs: Number(m[1]), lateMs: Number(m[2]) }] : [];
        });
        expect(starved.length, `starved resyncs in the log against the counter; ${report}`).to.equal(moved('starvedResyncs'));
        if (starved.length > 0)
          console.log(
            `      set aside: ${starved.length} resync(s) of a companion starved of CPU (${starved.map((x) => `${x.offMs} ms off, its write ${x.lateMs} ms late`).join('; ')})`,
          );
        // On PipeWire a step of the companion's device line is PipeWire moving its stream (a cycle it missed, by
        // one or two quanta: pipewire-sync.test.ts), not the switch: each is set aside with a resync and up to
        // MOVE_FRAMES_ASIDE of corrections, and told.
        const pipewireMoves = device === 'pipewire' ? moved('deviceSteps') : 0;
        // a move beyond the resync threshold (85 ms seen beside a second suite) is followed by a new stream, whose
        // report is judged before it plays (report-check.ts): the audio due meanwhile is skipped, ~1.4 s
        const pipewireResyncs = Math.min(pipewireMoves, moved('resyncs') - starved.length);
        const movesAside = pipewireMoves * MOVE_FRAMES_ASIDE + pipewireResyncs * NEW_STREAM_FRAMES_ASIDE;
        if (pipewireMoves > 0)
          console.log(`      set aside: PipeWire moved the companion's stream ${pipewireMoves} time(s) during the switches, ${pipewireResyncs} of them followed by a resync`);
        const counters = ['resyncs', 'underruns', 'restarts', 'concealedChunks', 'discardedChunks'];
        const counted = (k: string) => (k === 'resyncs' ? Math.max(0, moved(k) - starved.length - pipewireMoves) : moved(k));
        expect(Object.fromEntries(counters.map((k) => [k, counted(k)])), report).to.deep.equal(Object.fromEntries(counters.map((k) => [k, 0])));
        // the player's inaudible single-frame corrections go on as always (clock estimate, device drift), switches or not
        // (a starved player on `pulse` starts its stream afresh: the audio skipped meanwhile, about 1.5 s, is those resyncs' too)
        const starvedFrames = moved('starvedFrames');
        expect(
          moved('droppedFrames') + moved('insertedFrames') - starvedFrames,
          `frames dropped + inserted over 10 s, starved resyncs' ${starvedFrames} aside, PipeWire's ${pipewireMoves} move(s) and ${pipewireResyncs} resync(s) allowed ${movesAside}; ${report}`,
        ).to.be.at.most(0.001 * 10 * 48000 + movesAside);
      } finally {
        await owner.endAsync();
        // asserted after: a throw here would replace the failure that printed what was measured
        exit = await comp.interrupt();
        tone.kill('SIGKILL');
        await box?.stop();
        box = null;
        await pipewire?.stop();
        pipewire = null;
      }
      expect(exit, 'the companion exit code').to.equal(0);
    });
  }
});
