// Advertises the box as `_nearcast._tcp` with its MQTT, HTTP and stream ports.
// Not on loopback-only boxes: nobody else could reach them.

import { Bonjour } from 'bonjour-service';
import type { Extension } from './extension.ts';

export interface MdnsOptions {
  boxId: string;
  name: string;
  host: string;
  mqttPort: number;
  httpPort: number;
  streamPort: number;
  log(level: 'info' | 'warn', msg: string, extra?: object): void;
}

export class MdnsAdvertiser implements Extension {
  readonly name = 'mdns';
  private bonjour: Bonjour | null = null;

  constructor(private readonly options: MdnsOptions) {}

  start(): void {
    if (/^(127\.|::1$|localhost$)/.test(this.options.host)) {
      this.options.log('info', 'mDNS advertisement skipped: the box listens on loopback only');
      return;
    }
    this.bonjour = new Bonjour({ bind: '0.0.0.0' } as object, (e: Error) => this.options.log('warn', 'mDNS error', { error: e.message }));
    const txt = { id: this.options.boxId, mqtt: String(this.options.mqttPort), http: String(this.options.httpPort), stream: String(this.options.streamPort), v: '1' };
    this.bonjour.publish({ name: `${this.options.name} (${this.options.boxId})`, type: 'nearcast', port: this.options.mqttPort, txt });
    this.bonjour.publish({ name: `${this.options.name} MQTT`, type: 'mqtt', port: this.options.mqttPort, txt: { id: this.options.boxId } });
    this.bonjour.publish({ name: `${this.options.name} web`, type: 'http', port: this.options.httpPort, txt: { path: '/' } });
  }

  stop(): Promise<void> {
    const b = this.bonjour;
    this.bonjour = null;
    if (!b) return Promise.resolve();
    return new Promise((r) =>
      b.unpublishAll(() => {
        b.destroy();
        r();
      }),
    );
  }
}
