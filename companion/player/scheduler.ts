// Playout scheduler: feeds a PcmSink so that each stream frame leaves the DAC at
// its playAt (local clock).
//
// Device time model: the DeviceClock fits a line to many delay readings (frames
// consumed against the monotonic clock), so the time at which the next frame
// written leaves the DAC, tNext, comes from that line and never from one reading
// (sound servers report delay in a jumpy sawtooth; hardware per period). The
// error e = tNext + offset − (playAt of the next stream frame) is positive when
// we are late.
//
// Corrections:
//  - soft, always: single frames are dropped (late) or repeated (early), at a
//    rate proportional to the error (soft-correction.ts) — at most one per `softSpacingFrames` (0.1 %)
//    in steady state, one per `settleSpacingFrames` (0.5 %) during the first
//    seconds while the clock estimates are young, and again after the device moved until
//    what the move left is within 1 ms; corrected back to zero;
//  - hard (resync), only when the device itself moved: at start (lead-in), after
//    an xrun or a device that ran dry beyond `stepResyncUs`, or an error beyond
//    `hardThresholdUs` that persists (a confirmed step of the device line is worked
//    off softly at the settling rate below that). A single reading can do neither.
//    A sound server's stream (interpolated delay) that ran dry, had an xrun or
//    shows a persistent error is started afresh instead, its report judged as at
//    the start (rejoin()): a report can stay tens of ms away from its sound after
//    a stall (ARCHITECTURE.md, "Playout").
// Until the first audible frame, the lead-in silence is re-sized at every write
// from the latest model, so the first sample is on time without any resync.
// Underruns (no data) write silence while the stream timeline keeps moving, so
// audio that arrives later still plays at its own time; when the data is merely
// late and the device still holds enough, the scheduler waits instead.
//
// Latency offset sign: a POSITIVE offset plays EARLIER. Each frame leaves the DAC
// at playAt − offset, which compensates a downstream device (Bluetooth speaker,
// slow DAC) that adds that much delay after the DAC.

import { EventEmitter } from 'node:events';
import type { PcmFormat } from '../../firmware/wire/format.ts';
import { monotonicUs } from '../../firmware/util/time.ts';
import type { PcmSink, SinkStatus } from '../../hardware/audio/pcm-sink.ts';
import { DeviceClock } from '../../firmware/util/device-clock.ts';
import { GainRamp } from './gain-ramp.ts';
import { JitterBuffer, type JitterBlock, type PushResult } from './jitter-buffer.ts';
import { OutputMap } from './output-map.ts';
import { ReportCheck } from './report-check.ts';
import { checkOffset, type ResyncCause, type SchedulerEvents, type SchedulerOptions, type SchedulerState, type SchedulerStats } from './scheduler-types.ts';
import { SettleWindow, SoftCorrection, spansOf, spliceSpans } from './soft-correction.ts';

const MAX_REPORT_RESTARTS = 2; // a report still off after this many new streams is played on (the model follows it)
const ERROR_REJOIN_SPACING_US = 30e6; // a report that goes off again sooner is followed (resync)

export class PlayoutScheduler extends EventEmitter<SchedulerEvents> {
  readonly format: PcmFormat;
  readonly buffer: JitterBuffer;
  /** device frame ↔ source frame bookkeeping (sync measurement) */
  readonly output = new OutputMap();
  private readonly sink: PcmSink;
  private readonly now: () => number;
  private readonly rate: number;
  private readonly channels: number;
  private readonly blockFrames: number;
  private deviceBufferUs: number;
  private readonly requestedBufferUs: number; // NaN: as the sink prefers
  private readonly stepResyncUs: number;
  private readonly correction: SoftCorrection;
  private readonly settle: SettleWindow;
  private readonly idleWaitMs: number;
  private readonly gain: GainRamp;
  private readonly deviceClock: DeviceClock;
  private offsetUs: number;

  private state: SchedulerState = 'stopped';
  private running = false;
  private loopDone: Promise<void> | null = null;
  private timer: { id: ReturnType<typeof setTimeout>; resolve: () => void } | null = null;
  private status: SinkStatus | null = null;
  private deviceUnderruns = 0;
  private pendingSilence = 0;
  private deviceMoved = false; // the device ran dry or had an xrun since the last measurement
  private inUnderrun = false;
  private tokensUs: number; // spin guard: never write much faster than real time
  private tokensAt = NaN;
  private lastFrame: Int16Array;
  private stepsBeforeReset = 0; // device steps counted before the device clock was last reset
  private counters = { syncErrorUs: 0, underrunFrames: 0, underruns: 0, resyncs: 0, starvedResyncs: 0, starvedFrames: 0, insertedFrames: 0, droppedFrames: 0, deviceRestarts: 0 };
  /** judges a sound server's report before the first audible frame (null: not needed, or done) */
  private reportCheck: ReportCheck | null = null;
  private reportRestarts = 0; // device restarts since start(), for the report check
  private errorRejoinAtUs = Number.NEGATIVE_INFINITY; // the last new stream for a persistent error (not a move of the device)
  /** when the device runs dry without another write (µs, from the last write's status) */
  private dryAtUs = Number.NaN;
  private starvedUs = 0; // the device ran dry and this player's next write came this long after its queue ran out (0: in time)
  private lastWriteLateUs = 0; // the last write returned this long after the queue before it ran out (0: in time)
  private rejoinCause: ResyncCause | null = null; // the device was started afresh after it ran dry: the audio skipped at the lead-in's end counts as dropped
  private leadInFromUs = Number.NaN; // the lead-in's first write with audio waiting (NaN: none yet)

  constructor(sink: PcmSink, opts: SchedulerOptions = {}) {
    super();
    this.sink = sink;
    this.format = sink.format;
    this.rate = sink.format.sampleRate;
    this.channels = sink.format.channels;
    this.now = opts.now ?? monotonicUs;
    this.buffer = new JitterBuffer(sink.format, { maxBufferMs: opts.maxBufferMs });
    this.blockFrames = Math.max(1, Math.round(((opts.writeBlockMs ?? 10) * this.rate) / 1000));
    this.requestedBufferUs = opts.deviceBufferMs === undefined ? NaN : opts.deviceBufferMs * 1000;
    this.deviceBufferUs = Number.isNaN(this.requestedBufferUs) ? DEFAULT_DEVICE_BUFFER_US : this.requestedBufferUs;
    this.stepResyncUs = opts.stepResyncUs ?? 5000;
    this.settle = new SettleWindow((opts.settleMs ?? 3000) * 1000);
    this.correction = new SoftCorrection({
      rate: this.rate,
      deadbandUs: opts.deadbandUs ?? 40,
      hardUs: opts.hardThresholdUs ?? 30_000,
      settleSpacing: Math.max(1, opts.settleSpacingFrames ?? 200),
      softSpacing: Math.max(1, opts.softSpacingFrames ?? 1000),
      averageOver: Math.max(1, opts.averageOver ?? 32),
      correctionTauS: Math.max(0.05, (opts.correctionTauMs ?? 1500) / 1000),
    });
    this.idleWaitMs = opts.idleWaitMs ?? 5;
    this.offsetUs = checkOffset(opts.latencyOffsetMs ?? 0) * 1000;
    this.gain = new GainRamp(this.channels, Math.round(((opts.rampMs ?? 20) * this.rate) / 1000));
    this.gain.set(opts.volume ?? 100, opts.muted ?? false);
    this.gain.settle();
    this.deviceClock = new DeviceClock({ rate: this.rate });
    this.tokensUs = this.tokenCapacity;
    this.lastFrame = new Int16Array(this.channels);
  }

  private get tokenCapacity(): number {
    return 2 * this.deviceBufferUs + 4 * this.usOf(this.blockFrames);
  }

  private usOf(frames: number): number {
    return (frames * 1e6) / this.rate;
  }

  private framesOf(us: number): number {
    return Math.round((us * this.rate) / 1e6);
  }

  /** Adds a decoded block (playAt on the LOCAL clock). */
  push(block: JitterBlock): PushResult {
    return this.buffer.push(block);
  }

  setVolume(volume: number): void {
    this.gain.set(volume, this.gain.muted);
  }

  setMuted(muted: boolean): void {
    this.gain.set(this.gain.volume, muted);
  }

  /** Positive = play earlier (compensates delay added after the DAC). */
  setLatencyOffsetMs(ms: number): void {
    this.offsetUs = checkOffset(ms) * 1000;
  }

  stats(): SchedulerStats {
    return {
      state: this.state,
      ...this.counters,
      bufferedMs: (this.buffer.bufferedFrames() * 1000) / this.rate,
      deviceDelayMs: this.status ? (this.status.delayFrames * 1000) / this.rate : 0,
      deviceSteps: this.stepsBeforeReset + this.deviceClock.steps,
      deviceNoiseUs: this.deviceClock.noiseUs,
      devicePpm: this.deviceClock.ppm,
    };
  }

  /**
   * The device frame (0 = first frame written since start) that carried source
   * frame `source` (see JitterBlock.source); NaN when it was not played or is
   * too old. With the device's own record of when each frame left (the virtual
   * DAC's frameOutTimeUs) this gives when a given stream frame was heard.
   */
  deviceFrameOfSource(source: number): number {
    return this.output.deviceFrameOf(source);
  }

  /** The source frame carried by device frame `deviceFrame`; NaN for silence or unknown. */
  sourceOfDeviceFrame(deviceFrame: number): number {
    return this.output.sourceOf(deviceFrame);
  }

  /** Opens the sink and starts the playout loop; plays as soon as audio is pushed. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.sink.open();
    this.output.reset();
    this.resetDeviceClock();
    this.reportCheck = this.sink.interpolatedDelay && this.sink.restart ? new ReportCheck(this.rate) : null;
    this.reportRestarts = 0;
    this.errorRejoinAtUs = Number.NEGATIVE_INFINITY;
    this.deviceUnderruns = 0;
    this.dryAtUs = Number.NaN;
    this.starvedUs = 0;
    this.correction.forgetDrift();
    this.running = true;
    this.state = 'waiting';
    this.loopDone = this.loop();
  }

  /** Stops the loop and closes the sink. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) {
      clearTimeout(this.timer.id);
      this.timer.resolve();
    }
    await this.loopDone;
    this.state = 'stopped';
    await this.sink.close();
  }

  /** Discards buffered audio and the timeline (gap, format change); the next block starts afresh. */
  flush(): void {
    this.buffer.clear();
    this.pendingSilence = 0;
    this.correction.reset();
    this.inUnderrun = false;
    // the device keeps running: the next block gets a lead-in on the same device line
    if (this.running) this.state = this.status ? 'lead-in' : 'waiting';
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let waitMs: number;
      try {
        waitMs = await this.step();
      } catch (e) {
        this.running = false;
        this.state = 'stopped';
        if (this.listenerCount('error') > 0) this.emit('error', e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (waitMs > 0 && this.running) await this.sleep(waitMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timer = {
        id: setTimeout(() => {
          this.timer = null;
          resolve();
        }, ms),
        resolve,
      };
    });
  }

  /** One scheduling decision. Returns how long to wait (ms) before the next, 0 = go on. */
  private async step(): Promise<number> {
    const now = this.now();
    this.tokensUs = Number.isNaN(this.tokensAt) ? this.tokensUs : Math.min(this.tokenCapacity, this.tokensUs + (now - this.tokensAt) * 1.01);
    this.tokensAt = now;
    if (this.state === 'waiting') return this.prime();

    const st = this.status!;
    const queuedUs = st.atUs + this.usOf(st.delayFrames) - now;
    if (queuedUs > this.deviceBufferUs) return Math.max(1, Math.ceil((queuedUs - this.deviceBufferUs) / 1000));
    const blockUs = this.usOf(this.blockFrames);
    if (this.tokensUs < blockUs) return Math.max(1, Math.ceil((blockUs - this.tokensUs) / 1000));

    let tNext = this.deviceClock.frameOutUs(this.output.framesWritten);
    if (!(tNext > now)) {
      // Everything written has played: the device ran dry (a sound server does not
      // report that as an xrun, it just stops) and restarts on the next write.
      this.deviceClock.restart();
      this.deviceMoved = true;
      this.noteDry(now);
      this.settleAgain(true);
      await this.writeSilence(this.framesOf(PRIME_US));
      tNext = this.deviceClock.frameOutUs(this.output.framesWritten);
    }
    if (this.state === 'lead-in') return this.leadIn(tNext);

    if (this.pendingSilence > 0) {
      const n = Math.min(this.pendingSilence, this.blockFrames);
      this.pendingSilence -= n;
      await this.writeSilence(n);
      return 0;
    }

    const e = tNext + this.offsetUs - this.buffer.cursorTimeUs;
    const avg = this.correction.measure(e);
    this.counters.syncErrorUs = avg;
    const moved = this.deviceMoved;
    this.deviceMoved = false;
    if ((moved && Math.abs(e) > this.stepResyncUs) || this.correction.hardPersists) {
      const cause = !moved ? 'error' : this.starvedUs > 0 ? 'starved' : 'device';
      // on a sound server, a persistent error while the device runs on is its report gone off: a new
      // stream, not a jump after the report (at most once per ERROR_REJOIN_SPACING_US; see the header)
      if (this.canRestart && (moved || now - this.errorRejoinAtUs > ERROR_REJOIN_SPACING_US)) {
        if (!moved) this.errorRejoinAtUs = now;
        return this.rejoin(e, cause);
      }
      this.resync(e, cause);
      return 0;
    }

    const n = this.blockFrames;
    // The data is late, not lost: while the device still holds enough, wait for it
    // rather than writing silence that would then have to be made up.
    if (this.buffer.bufferedFrames() < n && queuedUs > 2 * blockUs + LATE_DATA_FLOOR_US) return Math.max(1, Math.floor(blockUs / 2000));

    const corr = this.correction.next(avg, this.settle.settling(now, avg), n);
    const { pcm, missingFrames, pieces } = this.buffer.readNext(n + corr);
    this.noteUnderrun(missingFrames);
    const spans = spansOf(corr, n);
    const out = corr === 0 ? pcm : spliceSpans(pcm, spans, n, this.lastFrame);
    this.output.block(spans, pieces);
    this.correction.applied(corr);
    if (corr > 0) this.counters.droppedFrames += corr;
    else this.counters.insertedFrames -= corr;
    if (n > 0) this.lastFrame = out.slice((n - 1) * this.channels, n * this.channels);
    await this.write(this.gain.apply(out));
    return 0;
  }

  /**
   * First audio: start the device with a little silence, so that the readings the
   * lead-in is sized from come from a running device, not from one that starts a
   * round trip later (an unclocked sink anchors its pacing there too).
   */
  private async prime(): Promise<number> {
    if (this.buffer.empty) return this.idleWaitMs;
    // An unclocked sink (ALSA file/null) is paced by our own model of a DAC: keep more
    // queued there so a loaded machine's scheduling hiccups do not starve the model.
    if (Number.isNaN(this.requestedBufferUs) && this.sink.preferredQueueMs) this.deviceBufferUs = this.sink.preferredQueueMs * 1000;
    if (!this.sink.clocked) this.deviceBufferUs = Math.max(this.deviceBufferUs, UNCLOCKED_BUFFER_US);
    await this.writeSilence(this.framesOf(PRIME_US));
    if (this.state !== 'waiting') return 0; // flushed or stopped meanwhile
    this.state = 'lead-in';
    this.leadInFromUs = Number.NaN;
    return 0;
  }

  /** Silence up to the first audible frame, sized from the latest device model at every write. */
  private async leadIn(tNext: number): Promise<number> {
    const first = this.buffer.firstPlayAt();
    if (first === null) {
      // no audio yet (a flush or a gap): keep the device running on a little silence, so
      // its clock model carries on instead of starting over when the audio comes back
      if (tNext - this.now() < IDLE_QUEUE_US) {
        await this.writeSilence(this.blockFrames);
        return 0;
      }
      return this.idleWaitMs;
    }
    // nothing audible until the sink's report has settled (at most REPORT_WAIT_MAX_US) and a sound
    // server's report is judged; one that started off gets a new stream
    if (Number.isNaN(this.leadInFromUs)) this.leadInFromUs = this.now();
    const unsettled = this.sink.reportSettled?.() === false && this.now() - this.leadInFromUs < REPORT_WAIT_MAX_US;
    if (unsettled || this.reportCheck?.verdict === 'pending') {
      await this.writeSilence(this.blockFrames);
      return 0;
    }
    if (this.reportCheck) {
      const verdict = this.reportCheck.verdict;
      if (verdict === 'restart' && this.reportRestarts < MAX_REPORT_RESTARTS) return this.restartDevice();
      this.reportCheck = null;
    }
    const target = tNext + this.offsetUs; // stream time the next written frame would carry
    const need = this.framesOf(first - target);
    if (need > 0) {
      await this.writeSilence(Math.min(need, this.blockFrames));
      return 0;
    }
    // within a frame of the first block's start: begin it; later (a mid-stream join): begin at the frame due now
    const from = this.buffer.cursorIndex;
    this.buffer.seek(need >= -1 ? first : target);
    if (this.rejoinCause) this.countResyncFrames(Math.max(0, this.buffer.cursorIndex - from), 0, this.rejoinCause);
    this.rejoinCause = null;
    this.leadInFromUs = Number.NaN;
    this.correction.reset();
    this.inUnderrun = false;
    this.state = 'playing';
    this.settle.begin(this.now());
    this.emit('started', { firstFrameOutUs: tNext });
    return 0;
  }

  private get canRestart(): boolean {
    return this.sink.interpolatedDelay === true && this.sink.restart !== undefined;
  }

  /**
   * The device ran dry (or had an xrun) under a sound server: a stream that ran dry with
   * its server held up comes back with a report tens of ms away from the sound, which the
   * model then follows (ARCHITECTURE.md, "Playout"). Such a device is started afresh
   * and its report judged, as at the start, before the audio due then plays again.
   */
  private async rejoin(errorUs: number, cause: ResyncCause): Promise<number> {
    this.noteResync(errorUs, cause);
    this.pendingSilence = 0;
    this.reportRestarts = 0;
    this.rejoinCause = cause;
    return this.restartDevice();
  }

  /** Starts the device afresh (its report started off, report-check.ts) and primes it again. */
  private async restartDevice(): Promise<number> {
    await this.sink.restart!();
    this.reportRestarts++;
    this.counters.deviceRestarts++;
    this.resetDeviceClock();
    this.reportCheck = new ReportCheck(this.rate);
    this.dryAtUs = Number.NaN;
    this.state = 'waiting';
    return 0;
  }

  private resync(errorUs: number, cause: ResyncCause): void {
    const frames = this.framesOf(Math.abs(errorUs));
    if (errorUs > 0) this.buffer.skip(frames);
    else this.pendingSilence += frames;
    this.countResyncFrames(errorUs > 0 ? frames : 0, errorUs > 0 ? 0 : frames, cause);
    this.noteResync(errorUs, cause);
  }

  /** the audio a resync or rejoin skipped (dropped) or filled with silence (inserted); a starved player's apart too */
  private countResyncFrames(dropped: number, inserted: number, cause: ResyncCause): void {
    this.counters.droppedFrames += dropped;
    this.counters.insertedFrames += inserted;
    if (cause === 'starved') this.counters.starvedFrames += dropped + inserted;
  }

  /** Forgets the device's line (a new stream); its steps stay counted, like every other counter. */
  private resetDeviceClock(): void {
    this.stepsBeforeReset += this.deviceClock.steps;
    this.deviceClock.reset();
  }

  /** counts a resync (or a rejoin) and says why */
  private noteResync(errorUs: number, cause: ResyncCause): void {
    this.counters.resyncs++;
    if (cause === 'starved') this.counters.starvedResyncs++;
    this.correction.reset();
    this.emit('resync', { errorUs, cause, ...(cause === 'starved' && { starvedMs: this.starvedUs / 1000 }) });
  }

  /**
   * The device ran dry, and this player's audio reaches it again at `nowUs`: the player
   * starved it when that is after the queue of its last write ran out (its process was not
   * scheduled in time); before that, the device stopped or dropped audio on its own.
   */
  private noteDry(nowUs: number): void {
    // a device that does not report its underruns is found dry only after the write that came late, whose
    // status already counts the new audio: that write says how late it was
    this.starvedUs = nowUs > this.dryAtUs ? nowUs - this.dryAtUs : this.lastWriteLateUs;
  }

  /**
   * The device moved (its line stepped, or it ran dry and lost that time): what is left below
   * `stepResyncUs` (a dry spell) or `hardThresholdUs` (a step) is worked off at the settling rate
   * (0.5 %), not the steady 0.1 % — a 4 ms dry spell in about a second rather than 4 s — for 3 s
   * and on until within 1 ms (SettleWindow). Not on an unclocked sink: there "ran dry" is this
   * player's own pacing model running out while the process was held up, and unclocked sinks
   * keep the correction rates they had before this was added.
   */
  private settleAgain(ranDry: boolean): void {
    if (this.state === 'playing' && (this.sink.clocked || !ranDry)) this.settle.moved(this.now());
  }

  private noteUnderrun(missing: number): void {
    if (missing > 0) {
      this.counters.underrunFrames += missing;
      if (!this.inUnderrun) {
        this.counters.underruns++;
        this.emit('underrun', { atUs: this.now() });
      }
    }
    this.inUnderrun = missing > 0;
  }

  private async writeSilence(frames: number): Promise<void> {
    this.lastFrame.fill(0);
    this.output.silence(frames);
    await this.write(new Int16Array(frames * this.channels));
  }

  private async write(pcm: Int16Array): Promise<void> {
    this.tokensUs -= this.usOf(pcm.length / this.channels);
    const st = await this.sink.write(pcm);
    this.status = st;
    const returnedUs = this.now();
    if (st.underruns !== this.deviceUnderruns) {
      // the device ran dry and restarted: its line moved by however long it was dry
      this.deviceUnderruns = st.underruns;
      this.deviceClock.restart();
      this.deviceMoved = true;
      this.noteDry(returnedUs);
      this.settleAgain(true);
    }
    this.lastWriteLateUs = returnedUs > this.dryAtUs ? returnedUs - this.dryAtUs : 0;
    this.dryAtUs = st.atUs + this.usOf(st.delayFrames);
    this.reportCheck?.observe(st.atUs, this.output.framesWritten - st.delayFrames);
    if (this.deviceClock.observe(st.atUs, this.output.framesWritten, st.delayFrames)) {
      // the device's line stepped (on a sound server often an error of its report that comes back
      // within seconds): worked off at the settling rate, never a resync unless beyond hardThresholdUs
      this.settleAgain(false);
    }
  }
}

// Lead-in silence written before the alignment: it must outlast the gap to the next write,
// or the device (or our model of an unclocked one) runs dry and restarts later than the
// alignment assumed — on a loaded machine a worker round trip alone can take ms.
export const PRIME_US = 30_000;
// Late data is waited for while the device holds this beyond two blocks (else silence: never dry).
const LATE_DATA_FLOOR_US = 20_000;
const IDLE_QUEUE_US = 40_000; // silence kept queued while there is nothing to play
const REPORT_WAIT_MAX_US = 4e6; // a report that has not settled by then is played on (the model follows it)
const UNCLOCKED_BUFFER_US = 200_000;
const DEFAULT_DEVICE_BUFFER_US = 60_000;
