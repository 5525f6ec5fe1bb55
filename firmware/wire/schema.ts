// The one validator for data that comes from outside the box's code: request
// payloads (requests.ts) and the saved state (util/state-store.ts callers).
// Strict: an object may hold only the keys its schema names, never one of the
// prototype's (`__proto__`, `constructor`, ...), nesting and sizes are bounded,
// and a valid value is returned as a fresh copy holding only what the schema
// describes. Browser-safe.

export type Schema =
  | { type: 'string'; max: number; min?: number; enum?: readonly string[] }
  | { type: 'integer'; min: number; max: number }
  | { type: 'number'; min: number; max: number }
  | { type: 'boolean' }
  | { type: 'literal'; value: string | number | boolean }
  /** a transaction id: a string of at most `max` characters, or a finite number */
  | { type: 'id'; max: number }
  | { type: 'array'; items: Schema; maxItems: number }
  | { type: 'object'; fields: Readonly<Record<string, Schema>>; required?: readonly string[]; oneOf?: readonly string[] }
  /**
   * a JSON object the receiver checks against a schema of its own (a configuration
   * section); here only its nesting (MAX_DOCUMENT_DEPTH) and prototype keys are refused
   */
  | { type: 'document' };

export type Checked<T = unknown> = { ok: true; value: T } | { ok: false; error: string };

const MAX_DEPTH = 8;
const MAX_DOCUMENT_DEPTH = 16;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

const name = (path: string) => (path ? `field '${path}'` : 'the value');

/** Checks `value` against `schema`; on success returns a clean copy. Never throws. `what` names the value in messages ("for 'search'"). */
export function check<T = unknown>(schema: Schema, value: unknown, what = ''): Checked<T> {
  const out: { value?: unknown } = {};
  const error = walk(schema, value, '', 0, out, what);
  return error ? { ok: false, error } : { ok: true, value: out.value as T };
}

function walk(s: Schema, v: unknown, path: string, depth: number, out: { value?: unknown }, what = ''): string | null {
  if (depth > MAX_DEPTH) return `${name(path)} is nested deeper than ${MAX_DEPTH} levels`;
  switch (s.type) {
    case 'string':
      if (typeof v !== 'string') return `${name(path)} must be a string, got ${describe(v)}`;
      if (s.enum && !s.enum.includes(v)) return `${name(path)} must be one of ${s.enum.join(', ')}, got ${JSON.stringify(v.slice(0, 64))}`;
      if (s.min !== undefined && v.trim().length < s.min) return `${name(path)} must not be empty`;
      if (v.length > s.max) return `${name(path)} is longer than ${s.max} characters`;
      break;
    case 'integer':
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v) || (s.type === 'integer' && !Number.isInteger(v)))
        return `${name(path)} must be ${s.type === 'integer' ? 'an integer' : 'a number'}, got ${describe(v)}`;
      if (v < s.min || v > s.max) return `${name(path)} must be between ${s.min} and ${s.max}, got ${v}`;
      break;
    case 'boolean':
      if (typeof v !== 'boolean') return `${name(path)} must be a boolean, got ${describe(v)}`;
      break;
    case 'literal':
      if (v !== s.value) return `${name(path)} must be ${JSON.stringify(s.value)}, got ${describe(v)}`;
      break;
    case 'id':
      if (!((typeof v === 'string' && v.length <= s.max) || (typeof v === 'number' && Number.isFinite(v))))
        return `${name(path)} must be a string (≤${s.max} characters) or a number`;
      break;
    case 'array': {
      if (!Array.isArray(v)) return `${name(path)} must be an array, got ${describe(v)}`;
      if (v.length > s.maxItems) return `${name(path)} has ${v.length} items, more than ${s.maxItems}`;
      const copy: unknown[] = [];
      for (let i = 0; i < v.length; i++) {
        const item: { value?: unknown } = {};
        const e = walk(s.items, v[i], `${path}[${i}]`, depth + 1, item);
        if (e) return e;
        copy.push(item.value);
      }
      out.value = copy;
      return null;
    }
    case 'document':
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${name(path)} must be a JSON object, got ${describe(v)}`;
      return copyDocument(v, path, 0, out);
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${name(path)} must be a JSON object, got ${describe(v)}`;
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return `${name(path)} must be a plain JSON object`;
      const copy: Record<string, unknown> = {};
      for (const key of Object.keys(v)) {
        const at = path ? `${path}.${key.slice(0, 64)}` : key.slice(0, 64);
        if (FORBIDDEN_KEYS.has(key)) return `field '${at}' is not allowed`;
        if (!Object.hasOwn(s.fields, key)) {
          const known = Object.keys(s.fields);
          return `unknown field '${at}'${what && !path ? ` for ${what}` : ''}${known.length ? `; allowed: ${known.join(', ')}` : ' (it takes no fields)'}`;
        }
        const item: { value?: unknown } = {};
        const e = walk(s.fields[key]!, (v as Record<string, unknown>)[key], at, depth + 1, item);
        if (e) return e;
        copy[key] = item.value;
      }
      for (const r of s.required ?? []) if (!Object.hasOwn(copy, r)) return `missing required field '${path ? `${path}.${r}` : r}'`;
      if (s.oneOf) {
        const present = s.oneOf.filter((k) => Object.hasOwn(copy, k));
        if (present.length !== 1) return `exactly one of ${s.oneOf.map((k) => `'${k}'`).join(' or ')} is needed`;
      }
      out.value = copy;
      return null;
    }
  }
  out.value = v;
  return null;
}

/** a plain copy of JSON data, refusing prototype keys and deep nesting */
function copyDocument(v: unknown, path: string, depth: number, out: { value?: unknown }): string | null {
  if (depth > MAX_DOCUMENT_DEPTH) return `${name(path)} is nested deeper than ${MAX_DOCUMENT_DEPTH} levels`;
  if (Array.isArray(v)) {
    const copy: unknown[] = [];
    for (let i = 0; i < v.length; i++) {
      const item: { value?: unknown } = {};
      const e = copyDocument(v[i], `${path}[${i}]`, depth + 1, item);
      if (e) return e;
      copy.push(item.value);
    }
    out.value = copy;
    return null;
  }
  if (typeof v === 'object' && v !== null) {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return `${name(path)} must be a plain JSON object`;
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(v)) {
      const at = `${path}.${key.slice(0, 64)}`;
      if (FORBIDDEN_KEYS.has(key)) return `field '${at}' is not allowed`;
      const item: { value?: unknown } = {};
      const e = copyDocument((v as Record<string, unknown>)[key], at, depth + 1, item);
      if (e) return e;
      copy[key] = item.value;
    }
    out.value = copy;
    return null;
  }
  out.value = v;
  return null;
}
