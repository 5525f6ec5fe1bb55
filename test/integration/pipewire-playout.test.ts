// The player's ALSA backend on PipeWire, the sound server of current desktops and
// Raspberry Pi OS: a private PipeWire with a null sink (timer-driven, so clocked),
// reached through ALSA's `pulse` PCM and pipewire-pulse. Same checks as the first
// PulseAudio test (pulse-playout.test.ts), plus the monitor recording that the
// PulseAudio tests rely on. Skips only when PipeWire is not installed; a PipeWire
// that is installed but does not start fails with its log.

import { expect } from 'chai';
import { monotonicUs } from '../../firmware/util/time.ts';
import { DEFAULT_FORMAT } from '../../firmware/wire/format.ts';
import { AlsaSink } from '../../hardware/audio/alsa-sink.ts';
import { PulseSink } from '../../hardware/audio/pulse-sink.ts';
import { delaysMs, keepQueued, medianPlayedRate } from '../helpers/keep-queued.ts';
import { pipewireMissing, startPipewireNullSink, type PipewireServer } from '../helpers/pipewire-null-sink.ts';
import { recordMonitor } from '../helpers/pulse-null-sink.ts';

const RATE = DEFAULT_FORMAT.sampleRate;

describe('playout on a clocked ALSA device (PipeWire null sink through the pulse PCM)', function () {
  this.timeout(30_000);
  let pipewire: PipewireServer | undefined;
  let savedServer: string | undefined;

  before(async function () {
    const missing = pipewireMissing();
    if (missing) {
      console.log(`    skipping the PipeWire playout tests: ${missing}`);
      this.skip();
    }
    pipewire = await startPipewireNullSink();
    savedServer = process.env.PULSE_SERVER;
    process.env.PULSE_SERVER = pipewire.server; // read by the pulse plugin when the PCM opens
  });
  after(async () => {
    if (!pipewire) return;
    if (savedServer === undefined) delete process.env.PULSE_SERVER;
    else process.env.PULSE_SERVER = savedServer;
    await pipewire.stop();
  });

  it('is clocked: snd_pcm_delay reports what is queued, and it drains in real time', async () => {
    const sink = new AlsaSink('pulse', DEFAULT_FORMAT, { latencyMs: 300 });
    await sink.open();
    try {
      expect(sink.clocked).to.equal(true);
      const st0 = await sink.write(new Int16Array(Math.round(0.28 * RATE) * 2)); // 280 ms
      expect(st0.delayFrames).to.be.within(0.1 * RATE, 0.3 * RATE);
      // Unlike PulseAudio, the first ~50 ms of a PipeWire stream report a delay that
      // can step by tens of ms (the session manager links the new stream, libpulse's
      // first timing updates come in): measure the drain after that.
      await new Promise((r) => setTimeout(r, 60));
      const st1 = await sink.status();
      await new Promise((r) => setTimeout(r, 100));
      const st2 = await sink.status();
      const drained = st1.delayFrames - st2.delayFrames;
      const elapsed = ((st2.atUs - st1.atUs) * RATE) / 1e6;
      expect(st2.delayFrames, 'still queued at the end (else it ran dry and stopped draining)').to.be.greaterThan(0.02 * RATE);
      expect(Math.abs(drained - elapsed), `drained ${drained} frames in ${elapsed.toFixed(0)} frames of time`).to.be.lessThan(0.015 * RATE);
    } finally {
      await sink.close();
    }
  });

  it('through libpulse (`pulse`): the raw timing answers of pipewire-pulse report what is queued, and it drains in real time', async () => {
    const sink = new PulseSink('pulse', DEFAULT_FORMAT, { server: pipewire!.server });
    await sink.open();
    try {
      // pipewire-pulse is told apart by its name: its answers leave the graph's quantum out (pipewire-quantum.ts)
      expect(sink.serverName).to.match(/on PipeWire/);
      const run = await keepQueued(sink, 300);
      const last = run.readings.at(-1)!;
      const rate = medianPlayedRate(run, 50);
      const what = `delays (ms) ${delaysMs(run, RATE)}; played at ${rate.toFixed(0)} frames/s; underruns ${last.underruns}`;
      expect((last.delayFrames / RATE) * 1000, what).to.be.within(50, 200);
      expect(Math.abs(rate / RATE - 1), what).to.be.below(0.02);
    } finally {
      await sink.close();
    }
  });

  it("what the player writes comes out of the sink's monitor unchanged", async () => {
    const sink = new AlsaSink('pulse', DEFAULT_FORMAT, { latencyMs: 300 });
    const rec = recordMonitor(pipewire!, monotonicUs);
    await new Promise((r) => setTimeout(r, 300)); // the recorder is running
    // 1 s of a 440 Hz tone with a ramp, so that any slice of it is unique
    const tone = new Int16Array(RATE * 2);
    for (let i = 0; i < RATE; i++) tone[2 * i] = tone[2 * i + 1] = Math.round((4000 + i / 4) * Math.sin((2 * Math.PI * 440 * i) / RATE));
    try {
      await sink.open();
      for (let off = 0; off < RATE; off += RATE / 50) await sink.write(tone.subarray(2 * off, 2 * (off + RATE / 50)));
      await sink.drain();
      await new Promise((r) => setTimeout(r, 200)); // the monitor's last block reaches parec
    } finally {
      await sink.close().catch(() => undefined);
      await rec.stop();
    }
    const samples = rec.samples();
    const recorded = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    expect(recorded.length / 4, 'frames recorded from the monitor').to.be.greaterThan(RATE);
    // Eight 100 ms slices, each looked for bit for bit: no resampling, no volume, no
    // dither. Any of those changes every slice; one gap in the recording (parec falling
    // behind on a loaded machine) can break one slice, so six of eight must be found.
    // A slice not found is reported with its closest match, to tell which it was.
    const SLICE = RATE / 10;
    const results = Array.from({ length: 8 }, (_, k) => {
      const from = Math.round(0.05 * RATE) + k * SLICE;
      const probe = Buffer.from(tone.buffer, 2 * 2 * from, 2 * 2 * SLICE);
      const at = recorded.indexOf(probe);
      return at >= 0 && at % 4 === 0 ? `${(from / RATE).toFixed(2)} s: found` : `${(from / RATE).toFixed(2)} s: ${closest(samples, tone, from, SLICE)}`;
    });
    const found = results.filter((r) => r.endsWith('found')).length;
    expect(found, `100 ms slices of the tone found bit for bit in ${(recorded.length / 4 / RATE).toFixed(2)} s recorded:\n      ${results.join('\n      ')}`).to.be.at.least(6);
  });
});

/** Where a slice of the tone matches the recording best (left channel, by its
 *  first 10 ms), and how far the samples there are from it: a gap, a gain or a
 *  resampler each leave a different trace. */
function closest(rec: Int16Array, tone: Int16Array, from: number, len: number): string {
  const head = Math.round(RATE / 100);
  let best = -1;
  let bestErr = Number.POSITIVE_INFINITY;
  for (let at = 0; at + len <= rec.length / 2; at++) {
    let err = 0;
    for (let i = 0; i < head && err < bestErr; i++) err += Math.abs(rec[2 * (at + i)]! - tone[2 * (from + i)]!);
    if (err < bestErr) [best, bestErr] = [at, err];
  }
  if (best < 0) return 'no match';
  let maxDiff = 0;
  let firstDiff = -1;
  let toneSq = 0;
  let recSq = 0;
  for (let i = 0; i < len; i++) {
    const a = tone[2 * (from + i)]!;
    const b = rec[2 * (best + i)]!;
    if (a !== b && firstDiff < 0) firstDiff = i;
    maxDiff = Math.max(maxDiff, Math.abs(a - b));
    toneSq += a * a;
    recSq += b * b;
  }
  const gainDb = 10 * Math.log10(recSq / Math.max(1, toneSq));
  return `not found; closest at ${(best / RATE).toFixed(3)} s of the recording, first differing frame ${firstDiff}, max |diff| ${maxDiff}, level ${gainDb.toFixed(2)} dB`;
}
