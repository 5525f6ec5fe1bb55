// `nearcast join` through a box restart (README.md "CLI reference", "Reliability"):
// a real box process killed with SIGKILL and started again on the same ports and
// state folder; the companion, playing through real libasound into an ALSA `file`
// PCM, must stay up, join again, and play on from about where the box was — which
// is measured in what it wrote, by finding that audio in ffmpeg's decode of the track.

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { makeFilePcmConfig } from '../helpers/alsa-file-pcm.ts';
import { alignNear, ffmpegDecode, readRaw } from '../helpers/audio-compare.ts';
import { runCompanion, startBox, waitFor, type BoxProcess, type CompanionProcess } from '../helpers/box-process.ts';
import { makeTestMusic, type TestTrack } from '../helpers/test-music.ts';

const FRAME_BYTES = 4; // s16 stereo
const RATE = 48_000;
/** the box saves the playing track's position every 5 s: a kill -9 loses at most that, plus scheduling slack */
const SAVE_EVERY_MS = 5000;
const SLACK_MS = 1500;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net
      .createServer()
      .on('error', reject)
      .listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
  });
}

const events = (c: CompanionProcess, name: string) => c.status().filter((s) => s.event === name);
const lastStatus = (c: CompanionProcess) =>
  c
    .status()
    .filter((s) => s.state !== undefined)
    .at(-1);
const bytes = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

async function killBox(box: BoxProcess): Promise<void> {
  const gone = new Promise((r) => box.proc.once('exit', r));
  box.proc.kill('SIGKILL');
  await gone;
}

/** where in `ref` (ms) the audio sits that `out` holds after its first run of silence (50 ms of zeros) past `fromFrame` */
function resumedAtMs(ref: Int16Array, out: Int16Array, fromFrame: number): { silenceFrame: number; ms: number } {
  const zero = (f: number) => out[2 * f] === 0 && out[2 * f + 1] === 0;
  const frames = out.length / 2;
  let zeros = 0;
  let f = Math.max(0, fromFrame);
  for (; f < frames && zeros < 2400; f++) zeros = zero(f) ? zeros + 1 : 0;
  const silenceFrame = f - zeros;
  while (f < frames && zero(f)) f++;
  const { at, start } = alignNear(ref, out, 2 * (f + 480)); // from 10 ms in: past the first block
  return { silenceFrame, ms: at < 0 ? NaN : ((at / 2 - (start / 2 - f)) / RATE) * 1000 };
}

describe('nearcast join through a box restart (real processes on loopback)', function () {
  this.timeout(150_000);
  let dir: string;
  let tracks: TestTrack[];
  let box: BoxProcess | null = null;
  let boxArgs: (policy: string) => string[];
  let mqttPort: number;
  const companions: CompanionProcess[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-rejoin-'));
    tracks = makeTestMusic(path.join(dir, 'music'), 30);
    const [mqtt, http, stream] = [await freePort(), await freePort(), await freePort()];
    mqttPort = mqtt;
    boxArgs = (policy) => [
      '--music',
      path.join(dir, 'music'),
      '--box-id',
      'rejoin',
      '--policy',
      policy,
      '--audio-device',
      'none',
      '--state-dir',
      path.join(dir, 'state'),
      '--mqtt-port',
      String(mqtt),
      '--http-port',
      String(http),
      '--stream-port',
      String(stream),
    ];
  });

  after(async () => {
    await Promise.all(companions.map((c) => c.interrupt()));
    if (box) await box.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (policy: string) =>
    startBox(boxArgs(policy), {
      NEARCAST_HARDWARE__KEYBOARD: 'true',
      NEARCAST_HARDWARE__SIM: 'true',
      NEARCAST_LOUDNESS__ENABLED: 'false', // the output is compared sample for sample with the file; loudness gain would change it on purpose
    });
  const join = (args: string[], env?: NodeJS.ProcessEnv) => {
    const c = runCompanion(['--box', `127.0.0.1:${mqttPort}`, 'join', '--json', ...args], env);
    companions.push(c);
    return c;
  };
  const said = (c: CompanionProcess) => `${c.stderr.join('\n')}${c.proc.exitCode !== null ? `\n(exited with ${c.proc.exitCode})` : ''}`;

  it('survives kill -9 and a restart of the box: stays up, says it rejoined, and plays on from about where the box was', async () => {
    box = await start('open');
    const alsa = makeFilePcmConfig(path.join(dir, 'alsa'), ['nc_r']);
    const file = alsa.outputs.nc_r;
    const comp = join(['--name', 'Ann', '--device', 'nc_r', '--codec', 'pcm', '--rejoin-timeout', '60'], alsa.env);
    // a few seconds into the track, past the box's first position save
    const before = await waitFor(
      'the companion playing 6 s into a track',
      () => {
        const s = lastStatus(comp);
        return s?.state === 'playing' && s.track && (s.positionMs ?? 0) > 6000 ? s : null;
      },
      40_000,
      100,
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${said(comp)} | ${JSON.stringify(lastStatus(comp))}`);
    });
    const track = tracks.find((t) => t.title === before.track?.title)!;
    const ref = ffmpegDecode(track.file);

    await killBox(box);
    const killFrame = Math.floor(bytes(file) / FRAME_BYTES);
    // what the companion had played when the box died: the last half second before the kill, found in the track
    const outAtKill = readRaw(file);
    const heard = alignNear(ref, outAtKill, 2 * (killFrame - RATE / 2));
    expect(heard.at, 'the audio before the kill is the track the status named').to.be.at.least(0);
    const heardMs = ((heard.at / 2 + (killFrame - heard.start / 2)) / RATE) * 1000;
    let saved: { position?: { trackId: string; ms: number } } = {};
    try {
      saved = JSON.parse(readFileSync(path.join(dir, 'state', 'playback.json'), 'utf8'));
    } catch {
      /* reported as missing below */
    }

    box = await start('open');
    const rejoined = await waitFor('a rejoined event', () => events(comp, 'rejoined')[0], 40_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}: ${said(comp)}`);
    });
    const sizeAtRejoin = bytes(file);
    await waitFor('2 s more of output after the rejoin', () => bytes(file) > sizeAtRejoin + 2 * RATE * FRAME_BYTES, 15_000, 100);
    const after = await waitFor(
      'a status line after the rejoin',
      () => {
        const s = lastStatus(comp);
        return s?.rejoins === 1 ? s : null;
      },
      5000,
    );

    expect(comp.proc.exitCode, 'the companion is still running').to.equal(null);
    expect(events(comp, 'box-lost'), said(comp)).to.have.length(1);
    expect(said(comp)).to.match(/box went away \(.+\): rejoining in 0\.5 s/);
    expect(said(comp)).to.match(/rejoined after \d+(\.\d)? s/);
    expect(rejoined.afterMs).to.be.a('number').and.be.above(0);
    expect(after).to.include({ state: 'playing', connection: 'joined', rejoins: 1 });
    expect(after.track?.title, 'the box plays the same track').to.equal(track.title);

    // the box: continued the track it had saved, at the saved position, at most one save interval before the kill
    const resumeLog = box.logs.flatMap((l) => {
      try {
        const j = JSON.parse(l);
        return j.msg === 'continuing the saved track where it was' ? [j] : [];
      } catch {
        return [];
      }
    })[0];
    const report = `heard ${heardMs.toFixed(0)} ms into '${track.title}' at the kill; the box saved ${JSON.stringify(saved.position)} and continued ${JSON.stringify(resumeLog ? { trackId: resumeLog.trackId, ms: resumeLog.positionMs } : null)}`;
    expect(resumeLog, `the restarted box says it continues the saved track (${report})`).to.not.equal(undefined);
    expect({ trackId: resumeLog.trackId, ms: resumeLog.positionMs }, report).to.deep.equal(saved.position);
    expect(resumeLog.positionMs, report).to.be.within(heardMs - SAVE_EVERY_MS - SLACK_MS, heardMs + SLACK_MS);

    // the listener: after the silence, the same track again, from where the box was when the stream came back
    const out = readRaw(file);
    const resumed = resumedAtMs(ref, out, killFrame - RATE);
    const heardAgain = `${report}; the output after the gap is at ${resumed.ms.toFixed(0)} ms of '${track.title}'; rejoined ${(Number(rejoined.afterMs) / 1000).toFixed(1)} s after the box went away`;
    expect(resumed.ms, `the output after the gap is the same track (${heardAgain})`).to.not.be.NaN;
    expect(resumed.ms, heardAgain).to.be.within(resumeLog.positionMs - SLACK_MS, resumeLog.positionMs + rejoined.afterMs + SLACK_MS);
    // resyncs are not asserted: on a loaded machine a box starting up starves the player now and then, as at any start
    console.log(`      ${heardAgain}; player resyncs before/after the restart ${before.resyncs}/${after.resyncs}, underruns ${before.underruns}/${after.underruns}`);
  });

  it('exits with code 4, saying why, when the box does not come back within --rejoin-timeout', async () => {
    const comp = join(['--name', 'Bob', '--device', 'null', '--rejoin-timeout', '3']);
    await waitFor('Bob playing', () => lastStatus(comp)?.state === 'playing', 20_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}: ${said(comp)}`);
    });
    await Promise.all(companions.slice(0, -1).map((c) => c.interrupt()));
    const killedAt = Date.now();
    await killBox(box!);
    box = null;
    const code = await Promise.race([comp.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    const tookMs = Date.now() - killedAt;
    expect(code, said(comp)).to.equal(4);
    expect(said(comp)).to.contain('the box did not come back within 3 s (--rejoin-timeout)');
    expect(events(comp, 'gave-up'), 'a gave-up event').to.have.length(1);
    expect(tookMs, 'gave up after the timeout, not long after').to.be.within(3000, 12_000);
  });

  it('a join waiting for approval when the box restarts asks again and waits again, then plays once approved', async () => {
    box = await start('button');
    const comp = join(['--name', 'Cy', '--device', 'null', '--wait', '60', '--rejoin-timeout', '60']);
    const waiting = () => comp.stderr.filter((l) => l.startsWith('waiting for the owner to approve the join')).length;
    await waitFor('the join pending', () => waiting() === 1, 20_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}: ${said(comp)}`);
    });
    await killBox(box);
    box = await start('button');
    await waitFor('the join pending again on the restarted box', () => waiting() === 2, 40_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}: ${said(comp)}`);
    });
    box.press('share');
    await waitFor('Cy playing', () => lastStatus(comp)?.state === 'playing', 20_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}: ${said(comp)}`);
    });
    expect(said(comp)).to.match(/box went away \(.+\): rejoining in/);
    expect(events(comp, 'rejoined'), said(comp)).to.have.length(1);
    expect(comp.proc.exitCode).to.equal(null);
    expect(await comp.interrupt()).to.equal(0);
    expect(said(comp)).to.contain('left the box');
  });
});
