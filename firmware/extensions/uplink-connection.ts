// How the uplink reaches its broker (README.md "MQTT uplink"): mqtt.js options from
// the `mqtt.uplink` config (credentials and certificates read from their files,
// with errors that name the setting), the protocol fallback, and the reconnect
// delays. No connection is made here.

import fs from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { BoxConfig } from '../config/config.ts';

export type UplinkConfig = BoxConfig['mqtt']['uplink'];

/** the largest packet the box accepts from the uplink broker (MQTT 5 tells the broker, which then drops larger ones) */
export const MAX_INCOMING_PACKET_BYTES = 64 * 1024;
export type ProtocolVersion = 4 | 5;

export class UplinkConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UplinkConfigError';
  }
}

function readSetting(setting: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new UplinkConfigError(`mqtt.uplink.${setting}: cannot read ${file} (${code})`);
  }
}

/** The password: `password` (the file or NEARCAST_MQTT__UPLINK__PASSWORD), else the first line of `passwordFile`, else none. */
export function uplinkPassword(config: UplinkConfig): string | undefined {
  if (config.password !== null) return config.password;
  if (config.passwordFile === null) return undefined;
  const first = readSetting('passwordFile', config.passwordFile).split(/\r?\n/)[0] ?? '';
  if (first === '') throw new UplinkConfigError(`mqtt.uplink.passwordFile: ${config.passwordFile} is empty`);
  return first;
}

/** The url as logs may show it: a password written into it (`mqtt://user:secret@host`) is masked. */
export function urlForLogs(url: string | null): string | null {
  return url === null ? null : url.replace(/^([a-z]+:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}

/** The protocol versions to try, in order. */
export function protocolVersions(config: UplinkConfig): ProtocolVersion[] {
  return config.protocol === '5' ? [5] : config.protocol === '3.1.1' ? [4] : [5, 4];
}

/**
 * A CONNACK that says the broker does not speak this protocol version: 0x84 from an
 * MQTT 5 broker, return code 1 from a 3.1.1 one (what a 3.1.1-only broker such as
 * aedes answers an MQTT 5 CONNECT).
 */
export function refusedProtocol(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 1 || code === 0x84;
}

export interface UplinkClientOptions {
  url: string;
  options: IClientOptions;
}

/** mqtt.js options for one connection attempt; `will` is the availability topic and its offline payload. */
export function uplinkClientOptions(config: UplinkConfig, boxId: string, version: ProtocolVersion, will: { topic: string; payload: string }): UplinkClientOptions {
  if (config.url === null) throw new UplinkConfigError('mqtt.uplink.url is not set');
  if ((config.cert === null) !== (config.key === null)) throw new UplinkConfigError('mqtt.uplink.cert and mqtt.uplink.key go together: set both or neither');
  const tls = /^(mqtts|wss):/.test(config.url);
  if (!tls && (config.ca !== null || config.cert !== null)) {
    throw new UplinkConfigError(`mqtt.uplink.ca/cert/key need an encrypted url (mqtts:// or wss://), not ${config.url.split(':')[0]}://`);
  }
  const password = uplinkPassword(config);
  const options: IClientOptions = {
    clientId: config.clientId ?? `nearcast-${boxId}`,
    protocolVersion: version,
    keepalive: config.keepaliveSeconds,
    // the uplink reconnects by itself, with backoff and jitter and the protocol fallback (Uplink.scheduleReconnect)
    reconnectPeriod: 0,
    connectTimeout: 15_000,
    clean: true,
    will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: true },
    // MQTT 5: the broker sends the box nothing larger (a request is at most 16 KiB; see README "Security and limits")
    ...(version === 5 ? { properties: { maximumPacketSize: MAX_INCOMING_PACKET_BYTES } } : {}),
    ...(config.username !== null ? { username: config.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(config.ca !== null ? { ca: readSetting('ca', config.ca) } : {}),
    ...(config.cert !== null ? { cert: readSetting('cert', config.cert) } : {}),
    ...(config.key !== null ? { key: readSetting('key', config.key) } : {}),
  };
  return { url: config.url, options };
}

/**
 * The wait before reconnect attempt `attempt` (0 for the first after a loss):
 * doubling from `minSeconds` up to `maxSeconds`, with "equal jitter" (half fixed, half
 * random) so that a shop's boxes that lost the broker together do not all return in
 * the same instant.
 */
export function reconnectDelayMs(attempt: number, minSeconds: number, maxSeconds: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxSeconds, minSeconds * 2 ** Math.min(attempt, 30)) * 1000;
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
