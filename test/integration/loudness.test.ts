// Even loudness on a real box: a quiet and a loud track are measured in the
// background (real ffmpeg ebur128) and then stream at the same loudness, measured
// on the stream every listener receives.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hashPassword } from '../../firmware/config/password.ts';
import { runCompanion, startBox, waitFor, type BoxProcess } from '../helpers/box-process.ts';
import { probeStream, type StreamProbe } from '../helpers/stream-probe.ts';

const rmsDb = (pcm: Int16Array) => {
  let sum = 0;
  for (const v of pcm) sum += (v / 32768) ** 2;
  return 10 * Math.log10(sum / pcm.length);
};

describe('loudness normalisation (real box, real ffmpeg ebur128)', function () {
  this.timeout(90_000);
  let dir: string;
  let box: BoxProcess | null = null;
  let listener: StreamProbe | null = null;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-loudness-'));
  });
  afterEach(async () => {
    await listener?.close();
    if (box) await box.stop();
    listener = null;
    box = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a track 20 dB quieter than another streams at the same loudness once measured', async () => {
    const music = path.join(dir, 'music');
    mkdirSync(music);
    for (const [name, amplitude] of [
      ['loud', 0.5],
      ['quiet', 0.05],
    ] as const) {
      execFileSync('ffmpeg', [
        '-nostdin',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        `aevalsrc=${amplitude}*sin(2*PI*440*t)|${amplitude}*sin(2*PI*660*t):s=48000:d=30`,
        '-metadata',
        `title=${name}`,
        path.join(music, `${name}.flac`),
      ]);
    }
    box = await startBox(['--box-id', 'ld', '--music', music, '--audio-device', 'none', '--policy', 'open', '--state-dir', path.join(dir, 'state')], {
      NEARCAST_OWNER__PASSWORDHASH: hashPassword('pw'),
    });
    await waitFor('both tracks measured', () => box!.logs.some((l) => l.includes('"loudness measured"') && l.includes('"tracks":2')), 30_000, 100);

    listener = await probeStream(box.ports.mqtt);
    const received = listener.chunks;

    const levelOf = async (title: string): Promise<number> => {
      const play = runCompanion(['--box', `127.0.0.1:${box!.ports.mqtt}`, '--user', 'owner', 'play', title], { ...process.env, NEARCAST_PASSWORD: 'pw' });
      expect(await play.exited, play.stderr.join('\n')).to.equal(0);
      await new Promise((r) => setTimeout(r, 1500)); // the new track is what the box sends now
      const last = [...received.values()].slice(-25); // the last half second
      const pcm = new Int16Array(last.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of last) {
        pcm.set(c, at);
        at += c.length;
      }
      return rmsDb(pcm);
    };
    const quiet = await levelOf('quiet');
    const loud = await levelOf('loud');
    // as made, the two differ by 20 dB; normalised to −17 LUFS they meet (these sines carry ~+0.3 dB of K-weighting)
    expect(Math.abs(loud - quiet), `loud ${loud.toFixed(2)} dB RMS, quiet ${quiet.toFixed(2)} dB RMS`).to.be.lessThan(1);
    expect(loud, `loud at ${loud.toFixed(2)} dB RMS (target −17 LUFS)`).to.be.within(-21, -16);
  });
});
