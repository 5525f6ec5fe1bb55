// The listener key: a random secret this companion keeps for each box, sent only in
// its own join request. A box under share policy `button` remembers a listener the
// owner let in by this key and lets it in again without asking (README.md "Security
// and limits"). Kept in $XDG_CONFIG_HOME/nearcast/listener-keys.json (else
// ~/.config/nearcast), readable by this user only.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const KEY_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;

function keyFile(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'nearcast', 'listener-keys.json');
}

function readKeys(file: string): Record<string, string> {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string' && KEY_PATTERN.test(v)));
    }
  } catch {
    /* none yet, or unreadable: a new key is made */
  }
  return {};
}

/**
 * This companion's key for the box `boxId`, made and stored on first use. Null when it
 * cannot be stored (a key that is not kept would be a new listener every time): the
 * join then simply goes without one.
 */
export function listenerKeyFor(boxId: string, env: NodeJS.ProcessEnv = process.env, warn: (line: string) => void = () => {}): string | null {
  const file = keyFile(env);
  const keys = readKeys(file);
  const known = Object.hasOwn(keys, boxId) ? keys[boxId] : undefined;
  if (known) return known;
  const key = randomBytes(32).toString('base64url');
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ ...keys, [boxId]: key }, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch (e) {
    warn(`cannot keep a listener key in ${file} (${(e as Error).message}): the box will ask the owner about this listener every time`);
    return null;
  }
  return key;
}
