// Publishes `telemetry` (not retained) every intervalSeconds: the system sample plus
// the box's own process and stream figures.

import type { SystemSample, SystemTelemetry } from '../../hardware/telemetry/system-telemetry.ts';

export interface StreamFigures {
  listeners: number;
  chunks: number;
  sourceUnderruns: number;
}

export interface TelemetryOptions {
  intervalSeconds: number;
  system: Pick<SystemTelemetry, 'start' | 'sample' | 'stop'>;
  stream(): StreamFigures;
  publish(payload: string): void;
  log(level: 'warn', msg: string, extra?: Record<string, unknown>): void;
}

export interface TelemetryMessage extends SystemSample {
  at: string;
  box: { rssMB: number; uptimeS: number };
  stream: StreamFigures;
}

export class Telemetry {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(private readonly o: TelemetryOptions) {}

  start(): void {
    if (this.o.intervalSeconds <= 0) return;
    this.o.system.start();
    this.timer = setInterval(() => void this.publishOnce(), this.o.intervalSeconds * 1000);
    this.timer.unref();
    void this.publishOnce();
  }

  async publishOnce(): Promise<TelemetryMessage | null> {
    if (this.busy) return null; // a slow sample never piles up requests
    this.busy = true;
    try {
      const sys = await this.o.system.sample();
      const msg: TelemetryMessage = {
        at: new Date().toISOString(), ...sys,
        box: { rssMB: Math.round(process.memoryUsage.rss() / 2 ** 20), uptimeS: Math.round(process.uptime()) },
        stream: this.o.stream(),
      };
      this.o.publish(JSON.stringify(msg));
      return msg;
    } catch (e) {
      this.o.log('warn', 'telemetry sample failed', { error: (e as Error).message });
      return null;
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.o.system.stop();
  }
}
