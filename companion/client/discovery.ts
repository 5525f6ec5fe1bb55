// Finds boxes on the local network by mDNS (`_nearcast._tcp`), and parses
// `--box HOST[:PORT]`.

import { Bonjour, type Service } from 'bonjour-service';
import { groupOf } from '../../firmware/util/checked-index.ts';

export interface BoxAddress {
  host: string;
  mqttPort: number;
  boxId?: string;
  name?: string;
}

export const DEFAULT_MQTT_PORT = 1883;

/** Parses HOST, HOST:PORT, [v6]:PORT. Throws a clear error on nonsense. */
export function parseBoxAddress(spec: string): BoxAddress {
  const m = /^\[([0-9a-fA-F:]+)\](?::(\d+))?$/.exec(spec) ?? /^([^:[\]\s]+)(?::(\d+))?$/.exec(spec);
  if (!m) throw new Error(`--box '${spec}' is not HOST or HOST:PORT`);
  const port = m[2] === undefined ? DEFAULT_MQTT_PORT : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--box '${spec}': port must be 1-65535`);
  return { host: groupOf(m, 1), mqttPort: port };
}

/** Parses `--stream HOST:PORT` (port required; [v6]:PORT for IPv6): where to reach the stream instead of the address the join reply names. */
export function parseStreamAddress(spec: string): { host: string; port: number } {
  const m = /^\[([0-9a-fA-F:]+)\]:(\d+)$/.exec(spec) ?? /^([^:[\]\s]+):(\d+)$/.exec(spec);
  if (!m) throw new Error(`--stream '${spec}' is not HOST:PORT`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--stream '${spec}': port must be 1-65535`);
  return { host: groupOf(m, 1), port };
}

export function serviceToBox(s: Pick<Service, 'addresses' | 'host' | 'port' | 'txt' | 'name'>): BoxAddress | null {
  const host = s.addresses?.find((a) => a.includes('.')) ?? s.addresses?.[0] ?? s.host;
  if (!host) return null;
  const txt = (s.txt ?? {}) as Record<string, string>;
  const port = Number(txt.mqtt ?? s.port);
  return { host, mqttPort: Number.isInteger(port) && port > 0 ? port : DEFAULT_MQTT_PORT, boxId: txt.id, name: s.name };
}

/** Browses mDNS for `timeoutMs` and returns every box seen. */
export async function discoverBoxes(timeoutMs = 3000): Promise<BoxAddress[]> {
  const bonjour = new Bonjour({ bind: '0.0.0.0' } as object);
  const found = new Map<string, BoxAddress>();
  try {
    await new Promise<void>((resolve) => {
      const browser = bonjour.find({ type: 'nearcast' }, (s: Service) => {
        const b = serviceToBox(s);
        if (b) found.set(`${b.host}:${b.mqttPort}`, b);
      });
      setTimeout(() => {
        browser.stop();
        resolve();
      }, timeoutMs);
    });
  } finally {
    bonjour.destroy();
  }
  return [...found.values()];
}
