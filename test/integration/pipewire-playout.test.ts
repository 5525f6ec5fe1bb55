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
    // a 100 ms slice from the middle, bit for bit: no resampling, no volume, no dither
    const probe = Buffer.from(tone.buffer, 2 * 2 * (RATE / 2), 2 * 2 * (RATE / 10));
    expect(recorded.length / 4, 'frames recorded from the monitor').to.be.greaterThan(RATE);
    expect(recorded.indexOf(probe), `a 100 ms slice of the tone in ${(recorded.length / 4 / RATE).toFixed(2)} s recorded`).to.be.greaterThan(-1);
  });
});
