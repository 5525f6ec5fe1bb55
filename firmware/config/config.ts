// Loads the box configuration: defaults (from the schema) < file (JSON or YAML)
// < environment (NEARCAST_<PATH>, levels joined by `__`) < command-line flags,
// validated once against config/schema.json with path-precise messages. The schema
// and the type are declared once, in config-schema.ts.

import * as AjvModule from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

import type { LoadedConfig } from './config-schema.ts';

// config/schema.json is generated from config-schema.ts (which also gives the type);
// the box reads the generated file so that the schema builder is not loaded on it.
const SCHEMA_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config/schema.json');

/** The box's configuration as loaded: the schema's type, with the box id filled in. */
export type BoxConfig = Omit<LoadedConfig, 'boxId'> & { boxId: string };

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

type Settings = Record<string, unknown>;
const isSettings = (value: unknown): value is Settings => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What went wrong, from a caught error: its errno code when it has one (ENOENT), else its message. */
function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return 'code' in error && typeof error.code === 'string' ? error.code : error.message;
}

/** Copies `from` into `into`, section by section (a later layer changes only the keys it names). */
function merge(into: Settings, from: Settings): Settings {
  for (const [key, value] of Object.entries(from)) {
    if (value === undefined) continue;
    const current = into[key];
    into[key] = isSettings(value) && isSettings(current) ? merge({ ...current }, value) : value;
  }
  return into;
}

function readFile(file: string): Settings {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot read the config file (${reason(error)})`);
  }
  let data: unknown;
  if (/\.json$/i.test(file)) {
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`${file}: invalid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else {
    const doc = YAML.parseDocument(text, { prettyErrors: true });
    const [first] = doc.errors;
    if (first) {
      const line = first.linePos?.[0];
      throw new ConfigError(`${file}${line ? `:${line.line}:${line.col}` : ''}: invalid YAML: ${first.message.split('\n')[0]}`);
    }
    data = doc.toJS();
  }
  if (data === null || data === undefined) return {};
  if (!isSettings(data)) throw new ConfigError(`${file}: the top level must be a mapping of settings`);
  return data;
}

/** Whether a schema's `type` (a name or a list of names) admits `name`. */
const admits = (schemaType: unknown, name: string) => schemaType === name || (Array.isArray(schemaType) && schemaType.includes(name));

/** NEARCAST_SHARE__POLICY=open → { share: { policy: 'open' } }, keys matched case-insensitively against the schema. */
function fromEnv(env: NodeJS.ProcessEnv, schema: Settings): Settings {
  const out: Settings = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('NEARCAST_') || raw === undefined || name === 'NEARCAST_PASSWORD') continue;
    let node: Settings = schema;
    const keys: string[] = [];
    for (const part of name.slice('NEARCAST_'.length).split('__')) {
      const properties = isSettings(node.properties) ? node.properties : {};
      const key = Object.keys(properties).find((candidate) => candidate.toLowerCase() === part.toLowerCase());
      const property = key === undefined ? undefined : properties[key];
      if (key === undefined || !isSettings(property)) throw new ConfigError(`environment ${name}: no setting /${[...keys, part.toLowerCase()].join('/')}`);
      keys.push(key);
      node = property;
    }
    // a JSON value (1884, true, ["/m"], null) or else the text itself; a string setting keeps the text
    // as written (NEARCAST_WIFI__PASSPHRASE=12345678 is a passphrase, not a number)
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    if (admits(node.type, 'string') && typeof value !== 'string' && !(value === null && admits(node.type, 'null'))) value = raw;
    const leaf = keys.pop();
    if (leaf === undefined) continue; // the bare prefix NEARCAST_ names no setting and was refused above
    let section = out;
    for (const key of keys) {
      const inner = section[key];
      if (isSettings(inner)) section = inner;
      else {
        const created: Settings = {};
        section[key] = created;
        section = created;
      }
    }
    section[leaf] = value;
  }
  return out;
}

/** The value at a JSON pointer (ajv's instancePath), for showing what was given. */
function valueAt(data: unknown, pointer: string): unknown {
  let value = data;
  for (const segment of pointer.split('/').slice(1)) {
    const key = segment.replace(/~1/g, '/').replace(/~0/g, '~');
    value = isSettings(value) ? value[key] : Array.isArray(value) ? value[Number(key)] : undefined;
  }
  return value;
}

function describe(error: ErrorObject, data: unknown): string {
  const where = error.instancePath || '/';
  const params: Record<string, unknown> = error.params;
  if (error.keyword === 'additionalProperties') return `unknown key ${error.instancePath}/${String(params.additionalProperty)}`;
  const shown = JSON.stringify(valueAt(data, error.instancePath));
  if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) return `${where} must be one of ${params.allowedValues.join(', ')} (got ${shown})`;
  return `${where} ${error.message} (got ${shown})`;
}

function defaultBoxId(): string {
  const host =
    os
      .hostname()
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'box';
  return `nearcast-${host}`;
}

// ajv is CommonJS: under ESM its class is the default export's `default`
const Ajv = AjvModule.Ajv;

interface CompiledSchema {
  validate: ValidateFunction<LoadedConfig>;
  schema: Settings;
}
let compiled: CompiledSchema | null = null;

function schema(): CompiledSchema {
  if (!compiled) {
    const text = fs.readFileSync(SCHEMA_PATH, 'utf8');
    const parsed: unknown = JSON.parse(text);
    if (!isSettings(parsed)) throw new ConfigError(`${SCHEMA_PATH}: not a JSON Schema object`);
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
    // Valid data satisfies LoadedConfig because config-schema.ts declares both and every
    // required property there has a default, which useDefaults fills in (both checked by
    // test/unit/firmware/config/config-schema.test.ts).
    compiled = { validate: ajv.compile<LoadedConfig>(parsed), schema: parsed };
  }
  return compiled;
}

export function loadConfig(options: LoadOptions = {}): BoxConfig {
  const { validate, schema: configSchema } = schema();
  const source = options.file ?? 'config';
  const data: Settings = {};
  if (options.file) merge(data, readFile(options.file));
  merge(data, fromEnv(options.env ?? {}, configSchema));
  if (options.overrides) merge(data, options.overrides);
  const given = structuredClone(data); // ajv fills defaults into `data`; messages show what was given
  if (!validate(data)) {
    const problems = (validate.errors ?? []).map((error) => `  ${source}: ${describe(error, given)}`);
    throw new ConfigError([...new Set(problems)].join('\n'));
  }
  return { ...data, boxId: data.boxId ?? defaultBoxId() };
}

/**
 * Checks one entry of a list setting (`stations`, `servers`) against the same schema as
 * the file, for a change made at run time (the owner's `stations`/`servers` requests):
 * null when valid, else the problems, each naming the entry's field.
 */
export function checkListEntry(key: 'stations' | 'servers', entry: unknown): string | null {
  const { validate } = schema();
  const data = { [key]: [structuredClone(entry)] };
  if (validate(data)) return null;
  const prefix = `/${key}/0`;
  const problems = (validate.errors ?? [])
    .filter((error) => error.instancePath.startsWith(prefix))
    .map((error) =>
      describe({ ...error, instancePath: error.instancePath.slice(prefix.length) }, entry)
        .replace(/^\//, '')
        .replace(/^unknown key \//, 'unknown key ')
        .trim(),
    );
  return problems.length > 0 ? [...new Set(problems)].join('; ') : `not a valid entry of ${key}`;
}

let sectionValidators: Map<string, ValidateFunction> | null = null;

/**
 * Checks one section of the configuration given on its own (a programme sent over MQTT)
 * against the same schema as the file, with the same messages; paths start at the
 * section (`/programme/playlists/2/windows/0/start ...`). Defaults are filled in.
 */
export function checkSection<Name extends keyof LoadedConfig>(name: Name, value: unknown): { ok: true; value: LoadedConfig[Name] } | { ok: false; errors: string[] } {
  const { schema: configSchema } = schema();
  sectionValidators ??= new Map();
  let validate = sectionValidators.get(name);
  if (!validate) {
    const properties = isSettings(configSchema.properties) ? configSchema.properties : {};
    const section = properties[name];
    if (!isSettings(section)) throw new ConfigError(`the configuration has no section ${name}`);
    validate = new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(section);
    sectionValidators.set(name, validate);
  }
  const given = structuredClone(value);
  const data = structuredClone(value);
  if (!validate(data)) {
    const rooted = (validate.errors ?? []).map((error) => ({ ...error, instancePath: `/${name}${error.instancePath}` }));
    return { ok: false, errors: [...new Set(rooted.map((error) => describe(error, { [name]: given })))] };
  }
  return { ok: true, value: data as LoadedConfig[Name] };
}
