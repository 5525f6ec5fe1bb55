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

  constructor(private o: MdnsOptions) {}

  start(): void {
    if (/^(127\.|::1$|localhost$)/.test(this.o.host)) {
      this.o.log('info', 'mDNS advertisement skipped: the box listens on loopback only');
      return;
    }
    this.bonjour = new Bonjour({ bind: '0.0.0.0' } as object, (e: Error) => this.o.log('warn', 'mDNS error', { error: e.message }));
    const txt = { id: this.o.boxId, mqtt: String(this.o.mqttPort), http: String(this.o.httpPort), stream: String(this.o.streamPort), v: '1' };
    this.bonjour.publish({ name: `${this.o.name} (${this.o.boxId})`, type: 'nearcast', port: this.o.mqttPort, txt });
    this.bonjour.publish({ name: `${this.o.name} MQTT`, type: 'mqtt', port: this.o.mqttPort, txt: { id: this.o.boxId } });
    this.bonjour.publish({ name: `${this.o.name} web`, type: 'http', port: this.o.httpPort, txt: { path: '/' } });
  }

  stop(): Promise<void> {
    const b = this.bonjour;
    this.bonjour = null;
    if (!b) return Promise.resolve();
    return new Promise((r) => b.unpublishAll(() => { b.destroy(); r(); }));
  }
}
