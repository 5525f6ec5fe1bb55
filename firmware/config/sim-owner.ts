// A simulated box (`make run`) with no owner password configured gets one, so the
// owner-only commands in README.md can be tried at once: random, made once per
// state folder, kept in <stateDir>/owner-password (readable by this user only) and
// printed on the box's console. A real box never does this: its owner sets
// `owner.passwordHash`.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const OWNER_PASSWORD_FILE = 'owner-password';

/** The simulated box's owner password: the one saved in stateDir, else a new one saved there. */
export function simOwnerPassword(stateDir: string): { password: string; file: string; created: boolean } {
  const file = path.join(stateDir, OWNER_PASSWORD_FILE);
  try {
    const saved = fs.readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{8,64}$/.test(saved)) return { password: saved, file, created: false };
  } catch {
    /* none yet */
  }
  const password = randomBytes(9).toString('base64url'); // 12 characters, no shell-special ones
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(file, password + '\n', { mode: 0o600 });
  return { password, file, created: true };
}
