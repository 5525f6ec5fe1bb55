// Loads the box configuration: defaults (from the schema) < file (JSON or YAML)
// < environment (NEARCAST_<PATH>, levels joined by `__`) < command-line flags,
// validated once against config/schema.json with path-precise messages.

import * as AjvModule from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const SCHEMA_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config/schema.json');

type Permission = 'owner' | 'listeners' | 'nobody';

export interface BoxConfig {
  boxId: string;
  name: string;
  network: { host: string };
  mqtt: { port: number };
  http: { port: number };
  stream: {
    port: number; codec: 'opus' | 'pcm'; codecs: Array<'opus' | 'pcm'>; opusBitrate: number; latencyMs: number;
    chunkMs: 10 | 20 | 40; fifoSeconds: number; tokenTtlSeconds: number;
  };
  audio: { device: string; volume: number };
  library: { folders: string[]; repeat: 'all' | 'none' };
  source: string;
  sources: string[];
  capture: { silenceSeconds: number; silenceThreshold: number; silenceFallback: 'none' | 'library' };
  share: { policy: 'button' | 'approve' | 'open'; windowSeconds: number; maxListeners: number };
  owner: { username: string; passwordHash: string | null };
  permissions: { request: Permission; control: Permission; volume: Permission; source: Permission };
  limits: {
    connectionsPerAddress: number; connections: number; ownerReserve: number; mqttPacketBytes: number; topicLevels: number;
    subscriptionsPerClient: number; requestsPerMinutePerAddress: number; pendingJoinsPerAddress: number;
    unconnectedJoinSeconds: number; helloTimeoutMs: number; loginBackoffMaxSeconds: number;
  };
  rateLimit: { perMinute: number; burst: number };
  wifi: { mode: 'auto' | 'p2p' | 'ap' | 'none'; interface: string; ctrlDir: string; deviceName: string | null; passphrase: string | null; freq: number; dhcp: boolean };
  telemetry: { intervalSeconds: number };
  homeassistant: { enabled: boolean };
  mdns: { enabled: boolean };
  hardware: {
    sim: boolean; keyboard: boolean; board: 'auto' | 'pi3' | 'pi4' | 'pi5' | 'zero2w';
    buttons: { backend: 'auto' | 'gpiod' | 'onoff' | 'sim'; map: Record<string, number> };
    leds: { map: Record<string, number> };
  };
  stateDir: string;
  log: { level: 'debug' | 'info' | 'warn' | 'error' };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(into: Obj, from: Obj): Obj {
  for (const [k, v] of Object.entries(from)) {
    if (v === undefined) continue;
    into[k] = isObj(v) && isObj(into[k]) ? merge({ ...(into[k] as Obj) }, v) : v;
  }
  return into;
}

function readFile(file: string): Obj {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read the config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let data: unknown;
  if (/\.json$/i.test(file)) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`${file}: invalid JSON: ${(e as Error).message}`);
    }
  } else {
    const doc = YAML.parseDocument(text, { prettyErrors: true });
    const e = doc.errors[0];
    if (e) {
      const line = e.linePos?.[0];
      throw new ConfigError(`${file}${line ? `:${line.line}:${line.col}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`);
    }
    data = doc.toJS();
  }
  if (data === null || data === undefined) return {};
  if (!isObj(data)) throw new ConfigError(`${file}: the top level must be a mapping of settings`);
  return data;
}

/** NEARCAST_SHARE__POLICY=open → { share: { policy: 'open' } }, keys matched case-insensitively against the schema. */
function fromEnv(env: NodeJS.ProcessEnv, schema: Obj): Obj {
  const out: Obj = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('NEARCAST_') || raw === undefined || name === 'NEARCAST_PASSWORD') continue;
    const parts = name.slice('NEARCAST_'.length).split('__');
    let node: Obj | undefined = schema;
    const keys: string[] = [];
    for (const part of parts) {
      const props: Obj | undefined = node?.properties as Obj | undefined;
      const key: string | undefined = props && Object.keys(props).find((k) => k.toLowerCase() === part.toLowerCase());
      if (!key) throw new ConfigError(`environment ${name}: no setting /${[...keys, part.toLowerCase()].join('/')}`);
      keys.push(key);
      node = props![key] as Obj;
    }
    let value: unknown = raw;
    try { value = JSON.parse(raw); } catch { /* a plain string */ }
    if (node && node.type === 'string' && typeof value !== 'string') value = raw;
    let o = out;
    for (const k of keys.slice(0, -1)) {
      const child = isObj(o[k]) ? o[k] : {};
      o[k] = child;
      o = child as Obj;
    }
    o[keys[keys.length - 1]!] = value; // one key per part, and split() gives at least one part
  }
  return out;
}

function describe(e: ErrorObject, data: unknown): string {
  const where = e.instancePath || '/';
  if (e.keyword === 'additionalProperties') return `unknown key ${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`;
  let got: unknown = data;
  for (const seg of e.instancePath.split('/').slice(1)) got = isObj(got) || Array.isArray(got) ? (got as Obj)[seg.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  const shown = JSON.stringify(got);
  if (e.keyword === 'enum') return `${where} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')} (got ${shown})`;
  return `${where} ${e.message} (got ${shown})`;
}

function defaultBoxId(): string {
  const host = os.hostname().toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'box';
  return `nearcast-${host}`;
}

let validator: ValidateFunction | null = null;
let schemaCache: Obj | null = null;

// ajv is CommonJS: under ESM its class is the default export's `default`
const Ajv = AjvModule.Ajv;

function schema(): { validate: ValidateFunction; schema: Obj } {
  if (!validator) {
    schemaCache = JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8')) as Obj;
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
    validator = ajv.compile(schemaCache);
  }
  return { validate: validator!, schema: schemaCache! };
}

export function loadConfig(o: LoadOptions = {}): BoxConfig {
  const { validate, schema: s } = schema();
  const source = o.file ?? 'config';
  const data: Obj = {};
  if (o.file) merge(data, readFile(o.file));
  merge(data, fromEnv(o.env ?? {}, s));
  if (o.overrides) merge(data, o.overrides);
  const before = structuredClone(data);
  if (!validate(data)) {
    const problems = (validate.errors ?? []).map((e: ErrorObject) => `  ${source}: ${describe(e, before)}`);
    throw new ConfigError([...new Set(problems)].join('\n'));
  }
  const cfg = data as unknown as BoxConfig;
  cfg.boxId ??= defaultBoxId();
  return cfg;
}
