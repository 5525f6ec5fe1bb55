// Request and reply payloads of the control plane, with their validation.
// Browser-safe; the box validates every request with these (through the one
// validator, schema.ts), the companions use the types. Replies follow the Zigbee2MQTT shape.

import type { Op } from './topics.ts';
import { isOp } from './topics.ts';
import { check, describe, type Schema } from './schema.ts';

export type Transaction = string | number;

export interface Reply<T = unknown> {
  status: 'ok' | 'error' | 'pending';
  data?: T;
  error?: string;
  transaction?: Transaction;
}

type OpSchema = Extract<Schema, { type: 'object' }>;

const text = (max: number): Schema => ({ type: 'string', min: 1, max });
const op = (fields: Record<string, Schema>, more: Omit<OpSchema, 'type' | 'fields'> = {}): OpSchema => ({ type: 'object', fields, ...more });
const TRANSACTION: Schema = { type: 'id', max: 128 };

export const CONTROL_ACTIONS = ['pause', 'resume', 'toggle', 'next', 'previous', 'stop'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

/** the share window: open it (joins accepted at once), close it, or stop sharing (also refuses waiting joins and disconnects every listener) */
export const SHARE_ACTIONS = ['open', 'close', 'stop'] as const;
export type ShareAction = (typeof SHARE_ACTIONS)[number];

/** the owner's list of radio stations or music servers: show it, add one, remove one by name */
export const LIST_ACTIONS = ['list', 'add', 'remove'] as const;
export type ListAction = (typeof LIST_ACTIONS)[number];
const LIST_ACTION: Schema = { type: 'string', max: 8, enum: LIST_ACTIONS };
/** a music server as the owner adds it (and as the box keeps it, domain/network-sources.ts) */
export const SERVER_ENTRY_FIELDS: Readonly<Record<string, Schema>> = {
  name: text(64),
  url: text(2000),
  username: text(200),
  password: text(1000),
  passwordFile: text(4096),
  passwordEnv: text(200),
  apiKey: text(2000),
  apiKeyFile: text(4096),
  apiKeyEnv: text(200),
  timeoutMs: { type: 'integer', min: 100, max: 10000 },
};
/** a `set-programme` payload may be this big (others MAX_PAYLOAD); the broker's packet limit (config `limits.mqttPacketBytes`) also holds */
const MAX_PROGRAMME_PAYLOAD = 256 * 1024;

export const REQUEST_SCHEMAS: Record<Op, OpSchema> = {
  // listenerKey: the companion's secret for this box, by which an approval is remembered (README.md "Security and limits")
  join: op({ name: text(64), song: text(200), codec: { type: 'string', max: 4, enum: ['opus', 'pcm'] }, listenerKey: { type: 'string', min: 22, max: 64 } }),
  leave: op({}),
  status: op({}),
  search: op({ query: text(200), limit: { type: 'integer', min: 1, max: 50 } }, { required: ['query'] }),
  play: op({ query: text(200), id: text(64) }, { oneOf: ['query', 'id'] }),
  enqueue: op({ query: text(200), id: text(64) }, { oneOf: ['query', 'id'] }),
  queue: op({}),
  control: op({ action: { type: 'string', max: 16, enum: CONTROL_ACTIONS } }, { required: ['action'] }),
  volume: op({ volume: { type: 'integer', min: 0, max: 100 }, delta: { type: 'integer', min: -100, max: 100 } }, { oneOf: ['volume', 'delta'] }),
  source: op({ source: text(200) }, { required: ['source'] }),
  approve: op({ clientId: text(64) }),
  /** listeners remembered as approved under policy `button`: list them, or forget one (by id) or all */
  approvals: op({ action: { type: 'string', max: 8, enum: ['list', 'forget'] }, id: text(64) }, { required: ['action'] }),
  deny: op({ clientId: text(64), reason: text(200) }),
  announce: op(
    { text: text(500), file: text(4096), url: text(2048), chime: { type: 'boolean' }, duckDb: { type: 'integer', min: 0, max: 40 } },
    { oneOf: ['text', 'file', 'url'] },
  ),
  programme: op({ count: { type: 'integer', min: 1, max: 20 } }),
  // the section is checked by the box against the configuration schema (config/schema.json), with path-precise messages
  'set-programme': op({ programme: { type: 'document' } }, { required: ['programme'] }),
  playlist: op({ playlist: text(128) }, { required: ['playlist'] }),
  // days YYYY-MM-DD (checked by the handler); cursor: a previous page's `next`
  playlog: op({ from: text(10), to: text(10), cursor: text(32) }, { required: ['from', 'to'] }),
  share: op({ action: { type: 'string', max: 8, enum: SHARE_ACTIONS }, seconds: { type: 'integer', min: 10, max: 3600 } }, { required: ['action'] }),
  // the entry's own rules (URL forms, names, one credential) are the config file's, checked by the box
  stations: op({ action: LIST_ACTION, name: text(64), url: text(2000) }, { required: ['action'] }),
  servers: op({ action: LIST_ACTION, ...SERVER_ENTRY_FIELDS }, { required: ['action'] }),
};

export interface JoinRequest {
  name?: string;
  listenerKey?: string;
  song?: string;
  codec?: 'opus' | 'pcm';
}
export interface SearchRequest {
  query: string;
  limit?: number;
}
export interface TrackRef {
  query?: string;
  id?: string;
}
export interface ControlRequest {
  action: ControlAction;
}
export interface VolumeRequest {
  volume?: number;
  delta?: number;
}
export interface SourceRequest {
  source: string;
}
export interface ApproveRequest {
  clientId?: string;
}
export interface DenyRequest {
  clientId?: string;
  reason?: string;
}
export interface AnnounceRequest {
  text?: string;
  file?: string;
  url?: string;
  chime?: boolean;
  duckDb?: number;
}
export interface SetProgrammeRequest {
  /** the same shape as the configuration section `programme` */
  programme: Record<string, unknown>;
}
export interface PlaylistRequest {
  /** a playlist id or name */
  playlist: string;
}
export interface ShareRequest {
  action: ShareAction;
  seconds?: number;
}

export interface StationsRequest {
  action: ListAction;
  name?: string;
  url?: string;
}
export interface ServersRequest {
  action: ListAction;
  name?: string;
  url?: string;
  username?: string;
  password?: string;
  passwordFile?: string;
  passwordEnv?: string;
  apiKey?: string;
  apiKeyFile?: string;
  apiKeyEnv?: string;
  timeoutMs?: number;
}

export type ParsedRequest = { ok: true; op: Op; body: Record<string, unknown>; transaction?: Transaction } | { ok: false; error: string; transaction?: Transaction };

const MAX_PAYLOAD = 16 * 1024;

/** Parses and validates one request payload. Never throws. */
export function parseRequest(op: string, payload: Uint8Array | string): ParsedRequest {
  const size = typeof payload === 'string' ? payload.length : payload.byteLength;
  if (size > (op === 'set-programme' ? MAX_PROGRAMME_PAYLOAD : MAX_PAYLOAD))
    return { ok: false, error: `payload is ${size} bytes, more than the ${op === 'set-programme' ? MAX_PROGRAMME_PAYLOAD : MAX_PAYLOAD} allowed` };
  let raw: unknown;
  let src: string;
  try {
    src = typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return { ok: false, error: 'payload is not valid UTF-8' };
  }
  if (src.trim() === '')
    raw = {}; // an empty payload means "no arguments"
  else {
    try {
      raw = JSON.parse(src);
    } catch (e) {
      return { ok: false, error: `malformed JSON: ${(e as Error).message}` };
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, error: `payload must be a JSON object, got ${describe(raw)}` };
  // the transaction first, so that a refusal can still be matched by the client
  const obj = raw as Record<string, unknown>;
  let transaction: Transaction | undefined;
  if (Object.hasOwn(obj, 'transaction')) {
    const t = check<Transaction>(TRANSACTION, obj.transaction);
    if (!t.ok) return { ok: false, error: "field 'transaction' must be a string (≤128 characters) or a number" };
    transaction = t.value;
  }
  // after the transaction: a client asking a box that does not know the op yet (an older release) can still match the refusal
  if (!isOp(op)) return { ok: false, transaction, error: `unknown operation '${op.slice(0, 64)}'; known: ${Object.keys(REQUEST_SCHEMAS).join(', ')}` };
  const { transaction: _t, ...fields } = obj; // an own '__proto__' key is copied as data and refused by check()
  const checked = check<Record<string, unknown>>(REQUEST_SCHEMAS[op], fields, `'${op}'`);
  if (!checked.ok) return { ok: false, transaction, error: checked.error };
  const body = checked.value;
  return { ok: true, op, body, transaction };
}
