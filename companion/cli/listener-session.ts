// A running `nearcast join` leaves a note (its MQTT client id, per box) so that
// one-shot commands from another terminal (`nearcast play …`) can act as that
// listener: they connect as `<id>~<suffix>`, which the box's broker lets share
// the listener's topics (README: "Driving the box with Mosquitto's tools").

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ListenerNote {
  clientId: string;
  boxId: string;
  pid: number;
}

function sessionDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_RUNTIME_DIR || path.join(os.tmpdir(), `nearcast-${os.userInfo().uid}`);
  return path.join(base, 'nearcast');
}

function noteFile(host: string, port: number, env?: NodeJS.ProcessEnv): string {
  return path.join(sessionDir(env), `listener-${host.replace(/[^A-Za-z0-9.-]/g, '_')}-${port}.json`);
}

/** Writes the note (readable by this user only); returns a function that removes it. */
export function saveListenerNote(host: string, port: number, note: ListenerNote, env?: NodeJS.ProcessEnv): () => void {
  const file = noteFile(host, port, env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, JSON.stringify(note), { mode: 0o600 });
  return () => {
    try {
      const now = JSON.parse(fs.readFileSync(file, 'utf8')) as ListenerNote;
      if (now.pid === note.pid) fs.rmSync(file);
    } catch { /* already gone */ }
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The note of a `nearcast join` still running against this box, or null. */
export function findListenerNote(host: string, port: number, env?: NodeJS.ProcessEnv): ListenerNote | null {
  const file = noteFile(host, port, env);
  let note: ListenerNote;
  try {
    note = JSON.parse(fs.readFileSync(file, 'utf8')) as ListenerNote;
  } catch {
    return null;
  }
  if (typeof note?.clientId !== 'string' || typeof note.pid !== 'number' || !alive(note.pid)) return null;
  return note;
}
