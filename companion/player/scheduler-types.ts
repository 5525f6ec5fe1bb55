// What the playout scheduler (scheduler.ts) is given and tells: its options, state,
// counters and events, and the words for why it resynced.

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
  /** of the dropped and inserted frames, those of the starved resyncs (the audio skipped or filled while the device was started afresh, or the error put right at once) */
  starvedFrames: number;
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

/** a latency offset in ms, checked (±10 s) */
export function checkOffset(ms: number): number {
  if (!Number.isFinite(ms) || Math.abs(ms) > 10_000) throw new RangeError(`latency offset must be a number of ms within ±10000, got ${ms}`);
  return ms;
}
