// The libpulse playback sink (hardware/audio/pulse-sink.ts) against a real PulseAudio
// server with a null sink: its delay comes from the server's raw timing answers, so it
// must report what is queued, drain in real time, see the stream run dry, start a new
// stream on restart() and say clearly what went wrong. Its sync at the sink, recorded, is
// pulse-sync.test.ts.

import { expect } from 'chai';
import { DEFAULT_FORMAT } from '../../firmware/wire/format.ts';
import { PulseSink } from '../../hardware/audio/pulse-sink.ts';
import { delaysMs, keepQueued, medianPlayedRate } from '../helpers/keep-queued.ts';
import { monotonicUs } from '../../firmware/util/time.ts';
import { recordMonitor, startPulseNullSink, type MonitorRecording, type PulseServer } from '../helpers/pulse-null-sink.ts';

const RATE = DEFAULT_FORMAT.sampleRate;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const silence = (ms: number) => new Int16Array(Math.round((ms / 1000) * RATE) * DEFAULT_FORMAT.channels);

describe('PulseSink: playback through libpulse with the raw timing (PulseAudio null sink)', function () {
  this.timeout(30_000);
  let pulse: PulseServer;
  let sink: PulseSink | null = null;
  let rec: MonitorRecording;

  before(async () => {
    pulse = await startPulseNullSink();
    // a null sink nobody listens to renders up to 2 s ahead, and a new stream waits that out; a
    // low-latency monitor (as every sync test has) sets its render block to 5 ms, as a DAC's period
    rec = recordMonitor(pulse, monotonicUs);
    await sleep(300);
  });
  afterEach(async () => {
    await sink?.close();
    sink = null;
  });
  after(async () => {
    await rec?.stop();
    await pulse?.stop();
  });

  it('reports what is queued and drains at the nominal rate, from the server timing', async () => {
    sink = new PulseSink('pulse', DEFAULT_FORMAT, { server: pulse.server });
    await sink.open();
    expect(sink.clocked).to.equal(true);
    expect(sink.interpolatedDelay).to.equal(false);
    // PulseAudio itself: its answers are taken as they are (no PipeWire quantum left out)
    expect(sink.serverName).to.equal('pulseaudio');
    // keep what a player keeps queued (250 ms) for 3 s, then read the drain rate over the last second (a
    // new stream on a null sink can wait out what the sink rendered ahead before it plays: up to 1.5 s)
    const run = await keepQueued(sink, 300, sink.preferredQueueMs);
    const last = run.readings.at(-1)!;
    const queuedMs = (last.delayFrames / RATE) * 1000;
    const rate = medianPlayedRate(run, 200);
    const what = `queued ${queuedMs.toFixed(1)} ms; delays (ms) ${delaysMs(run, RATE, 30)}; played at ${rate.toFixed(0)} frames/s`;
    expect(queuedMs, what).to.be.within(100, 300);
    expect(Math.abs(rate / RATE - 1), what).to.be.below(0.005);
    expect(last.underruns, what).to.equal(0);
  });

  it('counts each time the stream ran dry once, and plays again after it', async () => {
    sink = new PulseSink('pulse', DEFAULT_FORMAT, { server: pulse.server });
    await sink.open();
    const dryAgain = async (want: number) => {
      let st = await sink!.status();
      const seen: number[] = [];
      for (let i = 0; i < 40 && st.underruns < want; i++) {
        await sleep(20);
        st = await sink!.status();
        seen.push(st.underruns);
      }
      return { st, seen };
    };
    await sink.write(silence(100));
    let { st, seen } = await dryAgain(1);
    expect(st.underruns, `after 100 ms written and up to 800 ms waited: ${JSON.stringify(st)}; counts seen ${seen}`).to.equal(1);
    expect(st.delayFrames, JSON.stringify(st)).to.equal(0);
    st = await sink.write(silence(100));
    expect(st.delayFrames, JSON.stringify(st)).to.be.above(0.05 * RATE);
    // playing again is not a second dry spell; running dry again is
    await sleep(50);
    expect((await sink.status()).underruns, 'while it plays the second 100 ms').to.equal(1);
    ({ st, seen } = await dryAgain(2));
    await sleep(100);
    st = await sink.status();
    expect(st.underruns, `after the second 100 ms ran out: ${JSON.stringify(st)}; counts seen ${seen}`).to.equal(2);
  });

  it('restart() drops what is queued (it never reaches the sink) and starts a new stream', async () => {
    sink = new PulseSink('pulse', DEFAULT_FORMAT, { server: pulse.server });
    await sink.open();
    await sink.write(silence(50)); // the stream runs
    await sleep(30);
    // 120 ms of a constant level, queued behind what is left of the silence (the stream holds up to 250 ms)
    const loud = new Int16Array(Math.round(0.12 * RATE) * 2).fill(12000);
    const fromFrame = rec.samples().length / 2;
    const before = await sink.write(loud);
    expect(before.delayFrames, JSON.stringify(before)).to.be.above(0.1 * RATE);
    await sink.restart();
    const after = await sink.status();
    expect(after.delayFrames, JSON.stringify(after)).to.equal(0);
    const again = await sink.write(silence(50));
    expect(again.delayFrames, JSON.stringify(again)).to.be.within(0.02 * RATE, 0.06 * RATE);
    await sleep(500);
    const heard = rec.samples().subarray(fromFrame * 2);
    let loudFrames = 0;
    for (let i = 0; i < heard.length; i += 2) if (heard[i] === 12000) loudFrames++;
    // what the sink had taken before the restart still plays (up to its latency, 5 ms here); the rest does not
    expect((loudFrames / RATE) * 1000, 'ms of the 120 ms queued that reached the sink after all').to.be.below(40);
  });

  it('a sound server that goes away mid-stream is a clear error, not a hang', async () => {
    const own = await startPulseNullSink('nc_gone');
    try {
      sink = new PulseSink('pulse', DEFAULT_FORMAT, { server: own.server });
      await sink.open();
      await sink.write(silence(50));
      await own.stop();
      let err: Error | null = null;
      const started = Date.now();
      let writes = 0;
      for (; writes < 100 && !err; writes++) {
        err = await sink.write(silence(10)).then(
          () => null,
          (e: Error) => e,
        );
        if (!err) await sleep(20);
      }
      const what = `after ${writes} writes, ${Date.now() - started} ms`;
      expect(err?.message, what).to.match(/^PulseAudio sink 'pulse': (the sound server (connection failed|closed the stream)|the playback stream failed)/);
      expect(writes, what).to.be.at.most(3);
    } finally {
      await own.stop();
    }
  });

  it('says what went wrong: no server, a partial frame, a closed sink, a second open', async () => {
    const nowhere = new PulseSink('pulse', DEFAULT_FORMAT, { server: 'unix:/nonexistent/nearcast-test/native' });
    let err = await nowhere.open().then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.match(/^PulseAudio sink 'pulse': (cannot connect to the sound server|the sound server connection failed)/);
    sink = new PulseSink('pulse', DEFAULT_FORMAT, { server: pulse.server });
    await sink.open();
    err = await sink.open().then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.equal("PulseAudio sink 'pulse': already open");
    err = await sink.write(new Int16Array(3)).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.equal("PulseAudio sink 'pulse': 3 samples is not a whole number of 2-channel frames");
    // the sink still works after a bad write
    expect((await sink.write(silence(20))).delayFrames).to.be.above(0);
    await sink.close();
    err = await sink.write(silence(10)).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.equal("PulseAudio sink 'pulse': not open");
    expect(() => new PulseSink('pulse', { ...DEFAULT_FORMAT, sampleRate: 1000 })).to.throw(/rate 8000…192000 Hz, got 1000/);
  });
});
