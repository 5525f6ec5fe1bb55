// Publishes `telemetry` (not retained) every intervalSeconds: the system sample plus
// the box's own process (RSS, CPU), stream figures and its speaker's playout. Each message is also told
// as a `published` event (the uplink forwards it).

import { EventEmitter } from 'node:events';
import type { SystemSample, SystemTelemetry } from '../../hardware/telemetry/system-telemetry.ts';
import type { Extension } from './extension.ts';
import type { SpeakerFigures } from './speaker.ts';

export interface StreamFigures {
  listeners: number;
  chunks: number;
  sourceUnderruns: number;
  /** times the box's engine was held up longer than it can catch up (1 s): its timeline restarted, a gap in the stream */
  stalls: number;
  /** codecs chunks are encoded in now (only those someone listens to) */
  encoding?: string[];
  /** which Opus implementation runs: the system libopus or the WebAssembly fallback */
  opus?: 'libopus' | 'wasm' | null;
}

export interface TelemetryOptions {
  intervalSeconds: number;
  system: Pick<SystemTelemetry, 'sample'>;
  stream(): StreamFigures;
  /** what the box refused since it started, by kind (limits, logins, bad requests) */
  refused?: () => Record<string, number>;
  /** the box's own speaker's playout (null: the box has none) */
  speaker?: () => SpeakerFigures | null;
  publish(payload: string): void;
  log(level: 'warn', msg: string, extra?: Record<string, unknown>): void;
}

export interface TelemetryMessage extends SystemSample {
  at: string;
  box: { rssMB: number; uptimeS: number; cpuPercent: number };
  stream: StreamFigures;
  refused: Record<string, number>;
  speaker: SpeakerFigures | null;
}

export class Telemetry extends EventEmitter<{ published: [string] }> implements Extension {
  readonly name = 'telemetry';
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private lastCpu = { usage: process.cpuUsage(), at: process.hrtime.bigint() };

  constructor(private readonly options: TelemetryOptions) {
    super();
  }

  start(): void {
    if (this.options.intervalSeconds <= 0) return;
    this.timer = setInterval(() => void this.publishOnce(), this.options.intervalSeconds * 1000);
    this.timer.unref();
    void this.publishOnce();
  }

  async publishOnce(): Promise<TelemetryMessage | null> {
    if (this.busy) return null; // a slow sample never piles up requests
    this.busy = true;
    try {
      const sys = await this.options.system.sample();
      const msg: TelemetryMessage = {
        at: new Date().toISOString(),
        ...sys,
        box: { rssMB: Math.round(process.memoryUsage.rss() / 2 ** 20), uptimeS: Math.round(process.uptime()), cpuPercent: this.cpuPercent() },
        stream: this.options.stream(),
        refused: this.options.refused?.() ?? {},
        speaker: this.options.speaker?.() ?? null,
      };
      const payload = JSON.stringify(msg);
      this.options.publish(payload);
      this.emit('published', payload);
      return msg;
    } catch (e) {
      this.options.log('warn', 'telemetry sample failed', { error: (e as Error).message });
      return null;
    } finally {
      this.busy = false;
    }
  }

  /** the box process's CPU use (user + system) since the previous message, % of one core */
  private cpuPercent(): number {
    const now = { usage: process.cpuUsage(), at: process.hrtime.bigint() };
    const used = now.usage.user - this.lastCpu.usage.user + now.usage.system - this.lastCpu.usage.system; // µs
    const wall = Number(now.at - this.lastCpu.at) / 1000; // µs
    this.lastCpu = now;
    return wall > 0 ? Math.round((used / wall) * 1000) / 10 : 0;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
