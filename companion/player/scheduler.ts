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
//    rate proportional to the error (see softCorrection) — at most one per `softSpacingFrames` (0.1 %)
//    in steady state, one per `settleSpacingFrames` (0.5 %) during the first
//    seconds while the clock estimates are young, and again after the device moved; corrected back to zero;
//  - hard (resync), only when the device itself moved: at start (lead-in), after
//    an xrun or a device that ran dry beyond `stepResyncUs`, or an error beyond
//    `hardThresholdUs` that persists (a confirmed step of the device line is worked
//    off softly at the settling rate below that). A single reading can do neither.
//    A sound server's stream (interpolated delay) that ran dry or had an xrun is
//    started afresh instead, its report judged as at the start (rejoin()): the old
//    stream's report can stay tens of ms away from its sound after a stall.
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

export { GainRamp } from './gain-ramp.ts';

export interface SchedulerOptions {
  /** local clock in µs; must be the clock of the sink's status.atUs (default monotonicUs) */
  now?: () => number;
  deviceBufferMs?: number; // audio kept queued in the device (default: the sink's preference, else 60)
  writeBlockMs?: number; // size of each write (default 10)
  deadbandUs?: number; // errors within it get no proportional correction (default 40: a settled clock estimate's noise on a quiet link)
  correctionTauMs?: number; // soft correction works an error off with this time constant (default 1500)
  hardThresholdUs?: number; // errors beyond it that persist are fixed at once (default 30000)
  stepResyncUs?: number; // after the device ran dry or had an xrun, errors beyond this are fixed at once (default 5000)
  settleMs?: number; // the first seconds after the first audible frame, while the clock estimates are young (default 3000)...
  settleSpacingFrames?: number; // ...correct up to one frame per this many (default 200 = 0.5 %)
  softSpacingFrames?: number; // afterwards, one frame per this many (default 1000 = 0.1 %)
  averageOver?: number; // error measurements averaged (default 32, a third of a second: the clock estimate's noise averages out)
  maxBufferMs?: number; // jitter buffer bound (default 5000)
  latencyOffsetMs?: number; // positive = play earlier (default 0)
  volume?: number; // 0..100 (default 100)
  muted?: boolean;
  rampMs?: number; // volume ramp length (default 20)
  idleWaitMs?: number; // poll interval while there is nothing to do (default 5)
}

export type SchedulerState = 'waiting' | 'lead-in' | 'playing' | 'stopped';
export type ResyncCause = 'error' | 'device' | 'starved';

/** why a player resynced, in words (a companion's status line, the box speaker's log) */
export function describeResyncCause(cause: ResyncCause, starvedMs = 0): string {
  switch (cause) {
    case 'error':
      return 'persistent error';
    case 'device':
      return 'the device stalled or ran dry';
    case 'starved':
      return `the device ran dry: this player's next audio came ${starvedMs.toFixed(0)} ms after its queue ran out — the player was not scheduled in time, an overloaded machine`;
  }
}

export interface SchedulerStats {
  state: SchedulerState;
  syncErrorUs: number; // error against the device model, smoothed, positive = late
  underrunFrames: number;
  underruns: number; // events (runs of missing data)
  resyncs: number;
  /** of the resyncs, those after the device ran dry because this player's next write came after its queue ran out (a process starved of CPU) */
  starvedResyncs: number;
  insertedFrames: number; // soft duplicates + resync silence
  droppedFrames: number; // soft drops + resync skips
  bufferedMs: number; // jitter buffer ahead of the play head
  deviceDelayMs: number; // last raw delay reading
  deviceSteps: number; // times the device line moved (stall, xrun, server reschedule)
  deviceRestarts: number; // times the device was started afresh: its sound server's report started off (report-check.ts), or the stream ran dry
  deviceNoiseUs: number; // how coarsely the device reports its delay
  devicePpm: number; // device clock vs local clock
}

export interface SchedulerEvents {
  started: [{ firstFrameOutUs: number }];
  underrun: [{ atUs: number }];
  /** cause: a persistent error; the device stalled or ran dry; or it ran dry because this player's next write came `starvedMs` after its queue ran out */
  resync: [{ errorUs: number; cause: ResyncCause; starvedMs?: number }];
  error: [Error];
}

const HARD_CONFIRM = 5; // consecutive measurements beyond the hard threshold
const MAX_REPORT_RESTARTS = 2; // a report still off after this many new streams is played on (the model follows it)

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
  private readonly deadbandUs: number;
  private readonly hardUs: number;
  private readonly stepResyncUs: number;
  private readonly settleUs: number;
  private readonly settleSpacing: number;
  private readonly softSpacing: number;
  private readonly averageOver: number;
  private readonly correctionTauS: number;
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
  private audibleSinceUs = NaN;
  private pendingSilence = 0;
  private errors: number[] = [];
  private beyondHard = 0;
  private deviceMoved = false; // the device ran dry or had an xrun since the last measurement
  private correctionCredit = 0; // frames owed to the soft correction (+ drop, − repeat)
  private driftRate = 0; // learnt stream-vs-device drift, frames/s (the integral term)
  private inUnderrun = false;
  private tokensUs: number; // spin guard: never write much faster than real time
  private tokensAt = NaN;
  private lastFrame: Int16Array;
  private counters = { syncErrorUs: 0, underrunFrames: 0, underruns: 0, resyncs: 0, starvedResyncs: 0, insertedFrames: 0, droppedFrames: 0, deviceRestarts: 0 };
  /** judges a sound server's report before the first audible frame (null: not needed, or done) */
  private reportCheck: ReportCheck | null = null;
  private reportRestarts = 0; // device restarts since start(), for the report check
  /** when the device runs dry without another write (µs, from the last write's status) */
  private dryAtUs = Number.NaN;
  private starvedUs = 0; // the device ran dry and this player's next write came this long after its queue ran out (0: in time)
  private rejoining = false; // the device was started afresh after it ran dry: the audio skipped at the lead-in's end counts as dropped

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
    this.deadbandUs = opts.deadbandUs ?? 40;
    this.hardUs = opts.hardThresholdUs ?? 30_000;
    this.stepResyncUs = opts.stepResyncUs ?? 5000;
    this.settleUs = (opts.settleMs ?? 3000) * 1000;
    this.settleSpacing = Math.max(1, opts.settleSpacingFrames ?? 200);
    this.softSpacing = Math.max(1, opts.softSpacingFrames ?? 1000);
    this.averageOver = Math.max(1, opts.averageOver ?? 32);
    this.correctionTauS = Math.max(0.05, (opts.correctionTauMs ?? 1500) / 1000);
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

  get latencyOffsetMs(): number {
    return this.offsetUs / 1000;
  }

  get volume(): number {
    return this.gain.volume;
  }

  get muted(): boolean {
    return this.gain.muted;
  }

  stats(): SchedulerStats {
    return {
      state: this.state,
      ...this.counters,
      bufferedMs: (this.buffer.bufferedFrames() * 1000) / this.rate,
      deviceDelayMs: this.status ? (this.status.delayFrames * 1000) / this.rate : 0,
      deviceSteps: this.deviceClock.steps,
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
    this.deviceClock.reset();
    this.reportCheck = this.sink.interpolatedDelay && this.sink.restart ? new ReportCheck(this.rate) : null;
    this.reportRestarts = 0;
    this.deviceUnderruns = 0;
    this.dryAtUs = Number.NaN;
    this.starvedUs = 0;
    this.driftRate = 0;
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
    this.resetErrors();
    this.inUnderrun = false;
    // the device keeps running: the next block gets a lead-in on the same device line
    if (this.running) this.state = this.status ? 'lead-in' : 'waiting';
  }

  private resetErrors(): void {
    this.errors = [];
    this.beyondHard = 0;
    this.correctionCredit = 0;
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
    this.errors.push(e);
    if (this.errors.length > this.averageOver) this.errors.shift();
    const avg = this.errors.reduce((a, b) => a + b, 0) / this.errors.length;
    this.counters.syncErrorUs = avg;
    this.beyondHard = Math.abs(e) > this.hardUs ? this.beyondHard + 1 : 0;
    const moved = this.deviceMoved;
    this.deviceMoved = false;
    if ((moved && Math.abs(e) > this.stepResyncUs) || this.beyondHard >= HARD_CONFIRM) {
      const cause = !moved ? 'error' : this.starvedUs > 0 ? 'starved' : 'device';
      if (moved && this.canRestart) return this.rejoin(e, cause);
      this.resync(e, cause);
      return 0;
    }

    const n = this.blockFrames;
    // The data is late, not lost: while the device still holds enough, wait for it
    // rather than writing silence that would then have to be made up.
    if (this.buffer.bufferedFrames() < n && queuedUs > 2 * blockUs + LATE_DATA_FLOOR_US) return Math.max(1, Math.floor(blockUs / 2000));

    const corr = this.softCorrection(avg, now, n);
    const { pcm, missingFrames, pieces } = this.buffer.readNext(n + corr);
    this.noteUnderrun(missingFrames);
    const spans = spansOf(corr, n);
    const out = corr === 0 ? pcm : this.correct(pcm, spans, n);
    this.output.block(spans, pieces);
    if (corr !== 0) {
      this.correctionCredit -= corr;
      if (corr > 0) this.counters.droppedFrames += corr;
      else this.counters.insertedFrames -= corr;
      // the stored measurements predate the correction; shift them so the average stays true
      const shift = corr * this.usOf(1);
      this.errors = this.errors.map((x) => x - shift);
    }
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
    if (this.reportCheck) {
      // nothing audible until a sound server's report is judged; one that started off gets a new stream
      const verdict = this.reportCheck.verdict;
      if (verdict === 'pending') {
        await this.writeSilence(this.blockFrames);
        return 0;
      }
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
    if (this.rejoining) this.counters.droppedFrames += Math.max(0, this.buffer.cursorIndex - from);
    this.rejoining = false;
    this.resetErrors();
    this.inUnderrun = false;
    this.state = 'playing';
    this.audibleSinceUs = this.now();
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
    this.rejoining = true;
    return this.restartDevice();
  }

  /** Starts the device afresh (its report started off, report-check.ts) and primes it again. */
  private async restartDevice(): Promise<number> {
    await this.sink.restart!();
    this.reportRestarts++;
    this.counters.deviceRestarts++;
    this.deviceClock.reset();
    this.reportCheck = new ReportCheck(this.rate);
    this.dryAtUs = Number.NaN;
    this.state = 'waiting';
    return 0;
  }

  /**
   * Soft correction as a PI controller on the error (in frames): the proportional
   * part works an error off with time constant correctionTau (smoothly, so a small
   * noisy error costs an occasional frame and never a back-and-forth chatter); the
   * integral part learns the steady drift between the stream clock and the device
   * clock so that a drifting device sits at zero error, not at drift × tau.
   * Corrections are single frames, at most one per `spacing` frames (0.1 %, or
   * 0.5 % while settling). Returns +1 (drop one frame: late), −1 (repeat one:
   * early) or 0 for the next block of `n` frames.
   */
  private softCorrection(avg: number, now: number, n: number): number {
    const settling = now - this.audibleSinceUs < this.settleUs;
    const spacing = settling ? this.settleSpacing : this.softSpacing;
    const maxRate = this.rate / spacing; // frames per second
    const tau = settling ? SETTLE_TAU_S : this.correctionTauS;
    const framesOff = (avg * this.rate) / 1e6;
    const dt = n / this.rate;
    // anti-windup: only a small error says something about drift; a large one is a jump being worked off
    // (at the steady time constant even while settling: a fast proportional part must not wind the drift estimate up)
    if (Math.abs(avg) < INTEGRATE_BELOW_US) this.driftRate = clamp(this.driftRate + (framesOff / (this.correctionTauS * INTEGRAL_TAU_S)) * dt, -maxRate, maxRate);
    const proportional = Math.abs(avg) > this.deadbandUs ? framesOff / tau : 0;
    const rate = clamp(proportional + this.driftRate, -maxRate, maxRate);
    const perBlock = Math.max(1, Math.floor(n / spacing));
    this.correctionCredit = clamp(this.correctionCredit + rate * dt, -perBlock - 1, perBlock + 1);
    return clamp(Math.trunc(this.correctionCredit), -perBlock, perBlock);
  }

  private resync(errorUs: number, cause: ResyncCause): void {
    const frames = this.framesOf(Math.abs(errorUs));
    if (errorUs > 0) {
      this.buffer.skip(frames);
      this.counters.droppedFrames += frames;
    } else {
      this.pendingSilence += frames;
      this.counters.insertedFrames += frames;
    }
    this.noteResync(errorUs, cause);
  }

  /** counts a resync (or a rejoin) and says why */
  private noteResync(errorUs: number, cause: ResyncCause): void {
    this.counters.resyncs++;
    if (cause === 'starved') this.counters.starvedResyncs++;
    this.resetErrors();
    this.emit('resync', { errorUs, cause, ...(cause === 'starved' && { starvedMs: this.starvedUs / 1000 }) });
  }

  /**
   * The device ran dry, and this player's audio reaches it again at `nowUs`: the player
   * starved it when that is after the queue of its last write ran out (its process was not
   * scheduled in time); before that, the device stopped or dropped audio on its own.
   */
  private noteDry(nowUs: number): void {
    this.starvedUs = nowUs > this.dryAtUs ? nowUs - this.dryAtUs : 0;
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

  /** Builds the block from read positions (see spansOf): frames dropped or repeated, spread evenly. */
  private correct(pcm: Int16Array, spans: Array<{ pos: number; n: number }>, n: number): Int16Array {
    const ch = this.channels;
    const out = new Int16Array(n * ch);
    let at = 0;
    for (const span of spans) {
      if (span.pos < 0)
        out.set(this.lastFrame, at * ch); // a repeat before the block's first frame
      else out.set(pcm.subarray(span.pos * ch, (span.pos + span.n) * ch), at * ch);
      at += span.n;
    }
    return out;
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
    if (st.underruns !== this.deviceUnderruns) {
      // the device ran dry and restarted: its line moved by however long it was dry
      this.deviceUnderruns = st.underruns;
      this.deviceClock.restart();
      this.deviceMoved = true;
      this.noteDry(this.now());
    }
    this.dryAtUs = st.atUs + this.usOf(st.delayFrames);
    this.reportCheck?.observe(st.atUs, this.output.framesWritten - st.delayFrames);
    if (this.deviceClock.observe(st.atUs, this.output.framesWritten, st.delayFrames)) {
      // the device's line stepped (on a sound server often an error of its report that comes back
      // within seconds): worked off at the settling rate, never a resync unless beyond hardThresholdUs
      if (this.state === 'playing') this.audibleSinceUs = this.now();
    }
  }
}

// Lead-in silence written before the alignment: it must outlast the gap to the next write,
// or the device (or our model of an unclocked one) runs dry and restarts later than the
// alignment assumed — on a loaded machine a worker round trip alone can take ms.
export const PRIME_US = 30_000;
// Data that has not arrived yet is waited for while the device holds more than this
// beyond two blocks; below it, silence is written so the device never runs dry.
const LATE_DATA_FLOOR_US = 20_000;
const IDLE_QUEUE_US = 40_000; // silence kept queued while there is nothing to play
const UNCLOCKED_BUFFER_US = 200_000;
const SETTLE_TAU_S = 0.25; // while settling, errors are worked off quickly (within the settle rate cap)
const INTEGRAL_TAU_S = 6; // the drift estimate follows over several seconds
const INTEGRATE_BELOW_US = 1000;
const DEFAULT_DEVICE_BUFFER_US = 60_000;

/**
 * Read positions of a block's `n` output frames when `corr` frames are dropped
 * (corr > 0: n + corr frames read) or repeated (corr < 0: n − |corr| read), the
 * corrections spread evenly through the block.
 */
function spansOf(corr: number, n: number): Array<{ pos: number; n: number }> {
  const k = Math.abs(corr);
  if (k === 0) return [{ pos: 0, n }];
  const spans: Array<{ pos: number; n: number }> = [];
  let pos = 0;
  let out = 0;
  for (let j = 1; j <= k; j++) {
    const len = Math.round((j * n) / (k + 1)) - out;
    if (len > 0) spans.push({ pos, n: len });
    pos += len;
    out += len;
    if (corr > 0)
      pos += 1; // skip one read frame
    else {
      spans.push({ pos: pos - 1, n: 1 }); // play the previous frame again
      out += 1;
    }
  }
  spans.push({ pos, n: n - out });
  return spans;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}

function checkOffset(ms: number): number {
  if (!Number.isFinite(ms) || Math.abs(ms) > 10_000) throw new RangeError(`latency offset must be a number of ms within ±10000, got ${ms}`);
  return ms;
}
