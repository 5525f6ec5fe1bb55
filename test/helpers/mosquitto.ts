// Debian's Mosquitto 2 as a test broker: started on a free loopback port with a
// generated configuration and password file (anonymous clients refused), stopped
// and started again on the same port (a broker outage, sessions and retained
// messages kept as Mosquitto's persistence keeps them), optionally with an ACL file.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface MosquittoOptions {
  /** username → password */
  users: Record<string, string>;
  /** the text of an ACL file (Mosquitto's acl_file format) */
  acl?: string;
  /** more listeners: each gets a free port and returns its configuration lines (`listener <port> ...` first) */
  listeners?: Array<(port: number) => string[]>;
}

export interface Mosquitto {
  port: number;
  url: string;
  /** the ports of `options.listeners`, in order */
  extraPorts: number[];
  dir: string;
  /** the broker's log lines */
  logs: string[];
  /** the running broker's process id (its CPU and memory are in /proc/<pid>), null while stopped */
  pid(): number | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** stops the broker and removes its files */
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startMosquitto(options: MosquittoOptions): Promise<Mosquitto> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-mosquitto-'));
  const passwd = path.join(dir, 'passwd');
  writeFileSync(passwd, '');
  for (const [user, password] of Object.entries(options.users)) execFileSync('mosquitto_passwd', ['-b', passwd, user, password]);
  const port = await freePort();
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${passwd}`,
    // sessions and retained messages survive a restart (written at SIGTERM), as on a real installation
    'persistence true',
    `persistence_location ${dir}/`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    // as root Mosquitto would switch to its own user, which cannot read this folder
    ...(process.getuid?.() === 0 ? ['user root'] : []),
  ];
  const extraPorts: number[] = [];
  for (const listener of options.listeners ?? []) {
    const extra = await freePort();
    extraPorts.push(extra);
    lines.push(...listener(extra));
  }
  if (options.acl !== undefined) {
    writeFileSync(path.join(dir, 'acl'), options.acl);
    lines.push(`acl_file ${path.join(dir, 'acl')}`);
  }
  writeFileSync(path.join(dir, 'mosquitto.conf'), lines.join('\n') + '\n');
  const logs: string[] = [];
  let proc: ChildProcess | null = null;

  const broker: Mosquitto = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    extraPorts,
    dir,
    logs,
    pid: () => proc?.pid ?? null,
    start: () =>
      new Promise((resolve, reject) => {
        const child = spawn('mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
        proc = child;
        // a test run that ends early (mocha --exit, a failed hook) must not leave the broker running
        const orphaned = () => child.kill('SIGKILL');
        process.once('exit', orphaned);
        child.once('exit', () => process.off('exit', orphaned));
        const timer = setTimeout(() => reject(new Error(`mosquitto not running within 15 s:\n${logs.join('\n')}`)), 15_000);
        let buffer = '';
        child.stderr!.on('data', (data: Buffer) => {
          buffer += data.toString();
          const parts = buffer.split('\n');
          buffer = parts.pop() ?? '';
          logs.push(...parts);
          if (parts.some((line) => / running$/.test(line))) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`mosquitto exited with ${code}:\n${logs.join('\n')}`));
        });
      }),
    stop: () =>
      new Promise((resolve) => {
        const child = proc;
        proc = null;
        if (!child || child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.removeAllListeners('exit');
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
    close: async () => {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}
