// Owner password hashing: scrypt with a random salt, stored as
// scrypt$N$r$p$salt$hash (base64). Verification is constant-time.

import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

const N = 16384,
  R = 8,
  P = 1,
  KEYLEN = 32;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, KEYLEN, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

interface Parsed {
  n: number;
  r: number;
  p: number;
  salt: Buffer;
  expected: Buffer;
}

function parseHash(stored: string | null | undefined): Parsed | null {
  if (typeof stored !== 'string') return null;
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return null;
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (n < 2 || n > 1 << 20 || (n & (n - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return null;
  const salt = Buffer.from(m[4]!, 'base64'); // every group of the pattern is mandatory
  const expected = Buffer.from(m[5]!, 'base64');
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

/**
 * The same check on libuv's thread pool: the box's event loop (and its audio)
 * keeps running meanwhile. Callers bound how many run at once
 * (security/login-guard.ts); util/malloc-tuning.ts makes sure the 16 MB each
 * check takes is given back afterwards.
 */
export function verifyPasswordAsync(password: string, stored: string | null | undefined): Promise<boolean> {
  const h = parseHash(stored);
  if (!h) return Promise.resolve(false);
  return new Promise((resolve) => {
    scrypt(password, h.salt, h.expected.length, { N: h.n, r: h.r, p: h.p, maxmem: 256 * h.n * h.r + 1024 * 1024 }, (err, got) => {
      resolve(!err && timingSafeEqual(got, h.expected));
    });
  });
}
