// What someone nearby throws at a box, on real sockets from many loopback
// addresses (127.0.x.y: each its own "device" to the box's per-address limits).

import net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { OPS } from '../../firmware/wire/topics.ts';
import { itemAt } from '../../firmware/util/checked-index.ts';

let next = 0;
/** a fresh attacker address in 127.<block>.x.y */
export function attackerAddress(block: number): string {
  const i = next++;
  return `127.${block}.${(i >> 8) & 255}.${i & 255 || 1}`;
}

export function mqttFrom(port: number, localAddress: string, o: mqtt.IClientOptions): MqttClient {
  return new mqtt.MqttClient(() => net.createConnection({ port, host: '127.0.0.1', localAddress }), { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, ...o });
}

export function connected(c: MqttClient): Promise<boolean> {
  return new Promise((resolve) => {
    c.once('connect', () => resolve(true));
    c.once('error', () => resolve(false));
    c.once('close', () => resolve(false));
  });
}

/** a socket from `localAddress`; resolves when connected (or failed) */
export function socketFrom(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve) => {
    const s = net.createConnection({ port, host: '127.0.0.1', localAddress });
    s.on('error', () => {});
    s.once('connect', () => resolve(s));
    s.once('close', () => resolve(s));
  });
}

export function closed(s: net.Socket, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), timeoutMs);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

const rand = (n: number) => Math.floor(Math.random() * n);
export const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rand(256)));

/** one hostile or odd request payload */
export function fuzzPayload(): Buffer | string {
  const pick = rand(12);
  switch (pick) {
    case 0:
      return randomBytes(rand(200));
    case 1:
      return '{"__proto__":{"volume":"x","isAdmin":true}}';
    case 2:
      return '{"constructor":{"prototype":{"volume":1}},"toString":1}';
    case 3:
      return '['.repeat(5000) + ']'.repeat(5000);
    case 4:
      return JSON.stringify({ query: 'x'.repeat(20_000) });
    case 5:
      return JSON.stringify({ volume: 1e308, delta: -1e308 });
    case 6:
      return JSON.stringify({ name: '\u0000\uffff'.repeat(40), codec: 'flac', song: 7 });
    case 7:
      return JSON.stringify({ clientId: '../../etc/passwd', reason: {} });
    case 8:
      return JSON.stringify({ action: 'pause', transaction: { a: 1 } });
    case 9:
      return JSON.stringify({ source: 'pipe:/etc/shadow' });
    case 10:
      return '';
    default:
      return JSON.stringify({ query: 'moon', limit: rand(100) - 20, transaction: rand(1e6) });
  }
}

export function fuzzOp(): string {
  const r = rand(10);
  return r === 0 ? `op${rand(1000)}` : itemAt(OPS, rand(OPS.length), 'operations');
}
