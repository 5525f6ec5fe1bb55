// Request and reply payloads of the control plane, with their validation.
// Browser-safe; the box validates every request with these, the companions use
// the types. Replies follow the Zigbee2MQTT shape.

import type { Op } from './topics.ts';
import { isOp } from './topics.ts';

export type Transaction = string | number;

export interface Reply<T = unknown> {
  status: 'ok' | 'error' | 'pending';
  data?: T;
  error?: string;
  transaction?: Transaction;
}

type Field =
  | { type: 'string'; min?: number; max?: number; enum?: readonly string[] }
  | { type: 'integer'; min: number; max: number }
  | { type: 'boolean' };

interface OpSchema {
  fields: Record<string, Field>;
  required?: string[];
  /** exactly one of these must be present */
  oneOf?: string[];
}

const text = (max: number): Field => ({ type: 'string', min: 1, max });

export const CONTROL_ACTIONS = ['pause', 'resume', 'toggle', 'next', 'previous', 'stop'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

export const REQUEST_SCHEMAS: Record<Op, OpSchema> = {
  join: { fields: { name: text(64), song: text(200), codec: { type: 'string', enum: ['opus', 'pcm'] } } },
  leave: { fields: {} },
  status: { fields: {} },
  search: { fields: { query: text(200), limit: { type: 'integer', min: 1, max: 50 } }, required: ['query'] },
  play: { fields: { query: text(200), id: text(64) }, oneOf: ['query', 'id'] },
  enqueue: { fields: { query: text(200), id: text(64) }, oneOf: ['query', 'id'] },
  queue: { fields: {} },
  control: { fields: { action: { type: 'string', enum: CONTROL_ACTIONS } }, required: ['action'] },
  volume: { fields: { volume: { type: 'integer', min: 0, max: 100 }, delta: { type: 'integer', min: -100, max: 100 } }, oneOf: ['volume', 'delta'] },
  source: { fields: { source: text(200) }, required: ['source'] },
  approve: { fields: { clientId: text(64) } },
  deny: { fields: { clientId: text(64), reason: text(200) } },
};

export interface JoinRequest { name?: string; song?: string; codec?: 'opus' | 'pcm' }
export interface SearchRequest { query: string; limit?: number }
export interface TrackRef { query?: string; id?: string }
export interface ControlRequest { action: ControlAction }
export interface VolumeRequest { volume?: number; delta?: number }
export interface SourceRequest { source: string }
export interface ApproveRequest { clientId?: string }
export interface DenyRequest { clientId?: string; reason?: string }

export type ParsedRequest =
  | { ok: true; op: Op; body: Record<string, unknown>; transaction?: Transaction }
  | { ok: false; error: string; transaction?: Transaction };

const MAX_PAYLOAD = 16 * 1024;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${typeof v === 'object' ? '' : String(v)}`.trim();
}

function checkField(name: string, f: Field, v: unknown): string | null {
  switch (f.type) {
    case 'string':
      if (typeof v !== 'string') return `field '${name}' must be a string, got ${describe(v)}`;
      if (f.enum && !f.enum.includes(v)) return `field '${name}' must be one of ${f.enum.join(', ')}, got ${JSON.stringify(v)}`;
      if (f.min !== undefined && v.trim().length < f.min) return `field '${name}' must not be empty`;
      if (f.max !== undefined && v.length > f.max) return `field '${name}' is longer than ${f.max} characters`;
      return null;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return `field '${name}' must be an integer, got ${describe(v)}`;
      if (v < f.min || v > f.max) return `field '${name}' must be between ${f.min} and ${f.max}, got ${v}`;
      return null;
    case 'boolean':
      return typeof v === 'boolean' ? null : `field '${name}' must be a boolean, got ${describe(v)}`;
  }
}

/** Parses and validates one request payload. Never throws. */
export function parseRequest(op: string, payload: Uint8Array | string): ParsedRequest {
  if (!isOp(op)) return { ok: false, error: `unknown operation '${op.slice(0, 64)}'; known: ${Object.keys(REQUEST_SCHEMAS).join(', ')}` };
  const size = typeof payload === 'string' ? payload.length : payload.byteLength;
  if (size > MAX_PAYLOAD) return { ok: false, error: `payload is ${size} bytes, more than the ${MAX_PAYLOAD} allowed` };
  let raw: unknown;
  let src: string;
  try {
    src = typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return { ok: false, error: 'payload is not valid UTF-8' };
  }
  if (src.trim() === '') raw = {}; // an empty payload means "no arguments"
  else {
    try {
      raw = JSON.parse(src);
    } catch (e) {
      return { ok: false, error: `malformed JSON: ${(e as Error).message}` };
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: `payload must be a JSON object, got ${describe(raw)}` };
  const obj = raw as Record<string, unknown>;
  let transaction: Transaction | undefined;
  if ('transaction' in obj) {
    const t = obj.transaction;
    if ((typeof t === 'string' && t.length <= 128) || (typeof t === 'number' && Number.isFinite(t))) transaction = t;
    else return { ok: false, error: "field 'transaction' must be a string (≤128 characters) or a number" };
  }
  const schema = REQUEST_SCHEMAS[op];
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'transaction') continue;
    const f = schema.fields[k];
    if (!f) {
      const known = Object.keys(schema.fields);
      return { ok: false, transaction, error: `unknown field '${k.slice(0, 64)}' for '${op}'${known.length ? `; allowed: ${known.join(', ')}` : ' (it takes no fields)'}` };
    }
    const err = checkField(k, f, v);
    if (err) return { ok: false, transaction, error: err };
    body[k] = v;
  }
  for (const r of schema.required ?? []) if (!(r in body)) return { ok: false, transaction, error: `missing required field '${r}' for '${op}'` };
  if (schema.oneOf) {
    const present = schema.oneOf.filter((k) => k in body);
    if (present.length !== 1) return { ok: false, transaction, error: `'${op}' needs exactly one of ${schema.oneOf.map((k) => `'${k}'`).join(' or ')}` };
  }
  return { ok: true, op, body, transaction };
}
