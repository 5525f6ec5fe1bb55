// The playback device as the player engine sees it. One implementation per
// backend (ALSA through libasound, the virtual DAC twin), chosen by openSink().

import type { PcmFormat } from '../../firmware/wire/format.ts';

export interface SinkStatus {
  /** frames written but not yet out of the DAC (ALSA snd_pcm_delay semantics) */
  delayFrames: number;
  /** monotonic time (µs, see firmware/util/time.ts) at which delayFrames was read */
  atUs: number;
  /** underruns (xruns) seen since open */
  underruns: number;
}

export interface PcmSink {
  readonly name: string;
  readonly format: PcmFormat;
  /** true when the device consumes frames on its own clock; false for unclocked plugins (null, file) */
  readonly clocked: boolean;
  /**
   * How much audio a player should keep queued in this device, ms (after open):
   * a sound server reschedules in tens of ms and needs more than a hardware DAC.
   * Undefined: the player's default.
   */
  readonly preferredQueueMs?: number;
  /**
   * true when the delay read is a sound server's client-side interpolation (ALSA's
   * external I/O plugins, `pulse`): it can start several ms off and wander for
   * seconds, so a player checks it before anything is audible
   * (companion/player/report-check.ts)
   */
  readonly interpolatedDelay?: boolean;
  /**
   * false while the delay report is still settling (pipewire-pulse: too few timing answers yet
   * to bound its graph's cycle): a player keeps the device on silence and holds the first
   * audible frame meanwhile. Absent: settled from the first reading.
   */
  reportSettled?(): boolean;
  open(): Promise<void>;
  /** Drops what is queued and starts afresh (a sound server: a new stream). */
  restart?(): Promise<void>;
  /**
   * Queues interleaved signed 16-bit frames. Resolves once the device accepted all of
   * them (it may wait while the device buffer is full) with the status right after.
   */
  write(pcm: Int16Array): Promise<SinkStatus>;
  status(): Promise<SinkStatus>;
  close(): Promise<void>;
}
