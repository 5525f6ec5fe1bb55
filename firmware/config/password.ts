// Owner password hashing: scrypt with a random salt, stored as
// scrypt$N$r$p$salt$hash (base64). Verification is constant-time.

import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { Worker } from 'node:worker_threads';

const N = 16384, R = 8, P = 1, KEYLEN = 32;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, KEYLEN, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

interface Parsed { n: number; r: number; p: number; salt: Buffer; expected: Buffer }

function parseHash(stored: string | null | undefined): Parsed | null {
  if (typeof stored !== 'string') return null;
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return null;
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (n < 2 || n > 1 << 20 || (n & (n - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return null;
  const salt = Buffer.from(m[4], 'base64');
  const expected = Buffer.from(m[5], 'base64');
  if (expected.length < 16 || expected.length > 64) return null;
  return { n, r, p, salt, expected };
}

/** false for a wrong password and for a malformed hash (never throws). Blocks the caller: for tools, not the box. */
export function verifyPassword(password: string, stored: string | null | undefined): boolean {
  const h = parseHash(stored);
  if (!h) return false;
  try {
    const got = scryptSync(password, h.salt, h.expected.length, { N: h.n, r: h.r, p: h.p, maxmem: 256 * h.n * h.r + 1024 * 1024 });
    return timingSafeEqual(got, h.expected);
  } catch {
    return false;
  }
}

// The box checks passwords on one dedicated thread, one at a time. Not on the
// event loop (about 50 ms each would stall the audio), and not on libuv's pool:
// scrypt takes 16 MB per call, and glibc keeps such a block in each pool
// thread's own heap after it is freed, so a storm of logins spread over four
// pool threads left the box about 64 MB larger for good. One thread keeps at
// most one block; its queue is bounded by the caller (security/login-guard.ts).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
parentPort.on('message', (m) => {
  let hash = null;
  try { hash = scryptSync(m.password, Buffer.from(m.salt), m.keylen, { N: m.n, r: m.r, p: m.p, maxmem: m.maxmem }); } catch {}
  parentPort.postMessage({ id: m.id, hash });
});`;

let worker: Worker | null = null;
let nextId = 0;
const waiting = new Map<number, (hash: Uint8Array | null) => void>();

function hashOnWorker(password: string, h: Parsed): Promise<Uint8Array | null> {
  if (!worker) {
    const w = (worker = new Worker(WORKER_SOURCE, { eval: true }));
    w.on('message', (m: { id: number; hash: Uint8Array | null }) => {
      waiting.get(m.id)?.(m.hash);
      waiting.delete(m.id);
      if (waiting.size === 0) w.unref(); // idle: never keeps a process from exiting
    });
    w.on('error', () => { for (const r of waiting.values()) r(null); waiting.clear(); worker = null; });
    w.on('exit', () => { for (const r of waiting.values()) r(null); waiting.clear(); worker = null; });
  }
  const id = ++nextId;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    worker!.ref(); // a check in progress keeps the process alive until it answers
    worker!.postMessage({ id, password, salt: h.salt, keylen: h.expected.length, n: h.n, r: h.r, p: h.p, maxmem: 256 * h.n * h.r + 1024 * 1024 });
  });
}

/** The same check off the event loop (see above): the box's audio keeps running meanwhile. */
export async function verifyPasswordAsync(password: string, stored: string | null | undefined): Promise<boolean> {
  const h = parseHash(stored);
  if (!h) return false;
  const got = await hashOnWorker(password, h);
  return !!got && got.length === h.expected.length && timingSafeEqual(got, h.expected);
}
