// Runs a real `nearcast-box` process on loopback with ephemeral ports, and
// `nearcast` companion processes against it.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface BoxProcess {
  proc: ChildProcess;
  ports: { mqtt: number; http: number; stream: number };
  boxId: string;
  logs: string[];
  /** sends a line to the box's stdin: the simulated buttons ("share", "share long", ...) */
  press(command: string): void;
  stop(): Promise<number | null>;
}

/** a box on loopback with ports the system picks: it says which in its 'box ready' log line */
export const LOOPBACK_BOX_ARGS = ['--host', '127.0.0.1', '--mqtt-port', '0', '--http-port', '0', '--stream-port', '0'] as const;
/** anyone may join, no speaker, no keyboard buttons: a box that only serves listeners (benchmarks) */
export const SERVING_BOX_ARGS = ['--policy', 'open', '--audio-device', 'none', '--no-keyboard'] as const;

/** `entry`: how node runs the box (default: the TypeScript sources through tsx; the soak runs the deployed bundle) */
export async function startBox(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000, entry = ['--import', 'tsx', 'firmware/main.ts']): Promise<BoxProcess> {
  const proc = spawn(process.execPath, [...entry, ...LOOPBACK_BOX_ARGS, ...args], {
    cwd: ROOT,
    env: { ...process.env, NEARCAST_MDNS__ENABLED: 'false', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const ready = new Promise<{ ports: BoxProcess['ports']; boxId: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`box not ready within ${timeoutMs} ms:\n${logs.join('\n')}`)), timeoutMs);
    let buf = '';
    proc.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line);
        try {
          const j = JSON.parse(line);
          if (j.msg === 'box ready') {
            clearTimeout(timer);
            resolve({ ports: { mqtt: j.mqtt, http: j.http, stream: j.stream }, boxId: j.boxId });
          }
        } catch {
          /* not JSON */
        }
      }
    });
    proc.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`box exited with ${code}:\n${logs.join('\n')}`));
    });
  });
  const { ports, boxId } = await ready;
  return {
    proc,
    ports,
    boxId,
    logs,
    press: (command) => proc.stdin!.write(command + '\n'),
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        const t = setTimeout(() => proc.kill('SIGKILL'), 8000);
        proc.once('exit', (code) => {
          clearTimeout(t);
          resolve(code);
        });
        proc.kill('SIGINT');
      }),
  };
}

/** One line of `nearcast join --json`: the figures the tests read (a line may carry more, or lack some). */
export interface JoinStatusLine {
  state?: string;
  underruns?: number;
  resyncs?: number;
  droppedFrames?: number;
  insertedFrames?: number;
  positionMs?: number;
  track?: { title: string } | null;
  connection?: string;
  rejoins?: number;
  [figure: string]: unknown;
}

export interface CompanionProcess {
  proc: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** JSON status lines printed with --json */
  status(): JoinStatusLine[];
  exited: Promise<number | null>;
  interrupt(): Promise<number | null>;
}

let testConfigHome: string | null = null;

/** `env` without XDG_CONFIG_HOME: the companions of this test run keep their listener keys in a folder of its own, not in the user's */
export function runCompanion(args: string[], env: NodeJS.ProcessEnv = process.env): CompanionProcess {
  if (!testConfigHome) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-companion-config-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    testConfigHome = dir;
  }
  const withConfig = env.XDG_CONFIG_HOME ? env : { ...env, XDG_CONFIG_HOME: testConfigHome };
  const proc = spawn(process.execPath, ['--import', 'tsx', 'companion/cli/main.ts', ...args], { cwd: ROOT, env: withConfig, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let ob = '';
  proc.stdout!.on('data', (d: Buffer) => {
    ob += d.toString();
    const lines = ob.split('\n');
    ob = lines.pop()!;
    stdout.push(...lines);
  });
  proc.stderr!.on('data', (d: Buffer) => stderr.push(...d.toString().split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    proc,
    stdout,
    stderr,
    exited,
    status: () =>
      stdout.flatMap((l): JoinStatusLine[] => {
        try {
          return [JSON.parse(l) as JoinStatusLine];
        } catch {
          return [];
        }
      }),
    interrupt: () => {
      if (proc.exitCode !== null) return Promise.resolve(proc.exitCode);
      proc.kill('SIGINT');
      const t = setTimeout(() => proc.kill('SIGKILL'), 8000);
      return exited.finally(() => clearTimeout(t));
    },
  };
}

/** `what` names the condition in the timeout's message; a function is asked at the timeout (what was measured then) */
export async function waitFor<T>(what: string | (() => string), fn: () => T | undefined | null | false, timeoutMs = 15_000, stepMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
}
