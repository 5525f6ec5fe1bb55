import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gainDbFor, LoudnessIndex, measureLoudness, parseEbur128 } from '../../../../firmware/library/loudness.ts';
import type { Track } from '../../../../firmware/library/track.ts';
import { execFileSync } from 'node:child_process';

const SUMMARY = `[Parsed_ebur128_0 @ 0x1] Summary:

  Integrated loudness:
    I:         -31.8 LUFS
    Threshold: -41.8 LUFS

  True peak:
    Peak:      -28.1 dBFS`;

describe('loudness (EBU R128 measured once, gain to the target)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nearcast-loudness-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads ffmpeg's ebur128 summary", () => {
    expect(parseEbur128(`noise\n${SUMMARY}\n`)).to.deep.equal({ integratedLufs: -31.8, truePeakDbtp: -28.1 });
    expect(parseEbur128(SUMMARY.replace('-31.8 LUFS', '-inf LUFS'))?.integratedLufs).to.equal(-Infinity);
    expect(parseEbur128('no summary here')).to.equal(null);
  });

  it('the gain reaches the target unless the true peak would pass the ceiling; unknown or silent tracks get none', () => {
    expect(gainDbFor({ integratedLufs: -23, truePeakDbtp: -10, from: 'measured' }, -17, -1)).to.equal(6);
    expect(gainDbFor({ integratedLufs: -23, truePeakDbtp: -3, from: 'measured' }, -17, -1), 'held by the peak').to.equal(2);
    expect(gainDbFor({ integratedLufs: -9, truePeakDbtp: 0.5, from: 'measured' }, -17, -1)).to.equal(-8);
    expect(gainDbFor({ integratedLufs: -80, truePeakDbtp: -70, from: 'measured' }, -17, -1), 'at most +20 dB').to.equal(20);
    expect(gainDbFor({ integratedLufs: -Infinity, truePeakDbtp: -Infinity, from: 'measured' }, -17, -1)).to.equal(0);
    expect(gainDbFor(null, -17, -1)).to.equal(0);
  });

  it('measures a real file with the real ffmpeg', async () => {
    const file = path.join(dir, 'tone.flac');
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'aevalsrc=0.5*sin(2*PI*1000*t):s=48000:d=3', file]);
    // at normal priority: what is tested is the measurement, and at nice 19 a machine busy with
    // other work at normal priority can hold it past mocha's timeout
    const result = await measureLoudness(file, undefined, { niceness: 0 });
    // a 1 kHz sine of peak 0.5 (−6 dBFS): mean square 0.125 → −9.7 LUFS for one channel (K-weighting adds ~+0.7 dB at 1 kHz)
    expect(result.integratedLufs, JSON.stringify(result)).to.be.within(-11, -8);
    expect(result.truePeakDbtp, JSON.stringify(result)).to.be.within(-6.5, -5.5);
    const refused = await measureLoudness(path.join(dir, 'none.flac'), undefined, { niceness: 0 }).catch((e: Error) => e);
    expect((refused as Error).message).to.match(/ffmpeg ebur128 exited/);
  });

  it('a stopping box does not wait for the file under way: its ffmpeg is killed, what was measured is kept', async () => {
    // a named pipe nobody writes: ffmpeg waits on it for ever, like a long file at the lowest priority on a busy machine
    const stuck = path.join(dir, 'stuck.flac');
    execFileSync('mkfifo', [stuck]);
    const done = path.join(dir, 'done.flac');
    fs.writeFileSync(done, 'x');
    const track = (id: string, file: string): Track => ({ id, path: file, title: id, artist: '', album: '', durationMs: 1000, fileName: path.basename(file), hasArtwork: false });
    const warnings: string[] = [];
    const options = {
      file: path.join(dir, 'loudness.json'),
      log: (level: 'info' | 'warn', msg: string) => {
        if (level === 'warn') warnings.push(msg);
      },
    };
    const index = new LoudnessIndex({
      ...options,
      measure: (f, signal) => (f === done ? Promise.resolve({ integratedLufs: -20, truePeakDbtp: -3 }) : measureLoudness(f, signal)),
    });
    const running = index.measureAll([track('aaaaaaaaaaaa', done), track('bbbbbbbbbbbb', stuck)]);
    await new Promise((r) => setTimeout(r, 500)); // ffmpeg has started on the pipe
    const t0 = Date.now();
    await index.stop();
    await running;
    expect(Date.now() - t0, 'ms to stop').to.be.below(2000);
    expect(warnings, 'an abandoned file is no failure').to.deep.equal([]);
    const again = new LoudnessIndex(options);
    expect(again.get(track('aaaaaaaaaaaa', done))?.from).to.equal('measured');
    expect(again.get(track('bbbbbbbbbbbb', stuck)), 'measured at the next start').to.equal(null);
    const refused = await measureLoudness(done, AbortSignal.abort()).catch((e: Error) => e);
    expect((refused as Error).message).to.equal('loudness measurement stopped');
  });

  it('keeps measurements across restarts, measures a changed file again, and uses ReplayGain tags until measured', async () => {
    const file = path.join(dir, 'a.flac');
    fs.writeFileSync(file, 'one');
    const track: Track = {
      id: '0123456789ab',
      path: file,
      title: 'a',
      artist: '',
      album: '',
      durationMs: 1000,
      fileName: 'a.flac',
      hasArtwork: false,
      replayGainDb: -4,
      replayGainPeak: 0.5,
    };
    const measured: string[] = [];
    const make = () =>
      new LoudnessIndex({
        file: path.join(dir, 'loudness.json'),
        log: () => {},
        measure: async (f) => {
          measured.push(f);
          return { integratedLufs: -12, truePeakDbtp: -0.5 };
        },
      });
    const first = make();
    const before = first.get(track);
    expect(before?.from).to.equal('replaygain');
    expect(before?.integratedLufs, 'ReplayGain 2 references −18 LUFS').to.equal(-14);
    expect(before?.truePeakDbtp).to.be.closeTo(-6.02, 0.01);
    await first.measureAll([track]);
    expect(first.get(track)).to.deep.equal({ integratedLufs: -12, truePeakDbtp: -0.5, from: 'measured' });
    const second = make();
    await second.measureAll([track]);
    expect(measured, 'not measured again after a restart').to.have.length(1);
    fs.writeFileSync(file, 'changed contents');
    expect(second.get(track)?.from, 'a changed file falls back to its tags').to.equal('replaygain');
    await second.measureAll([track]);
    expect(measured).to.have.length(2);
    fs.writeFileSync(path.join(dir, 'loudness.json'), '{not json');
    expect(make().get({ ...track, replayGainDb: undefined }), 'an unreadable file is measured again').to.equal(null);
  });
});
