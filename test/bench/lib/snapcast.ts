// snapserver (Snapcast 0.26, Debian) on loopback reading a named pipe, and
// snapclients playing through an ALSA PCM: the reference the device-sync bench
// runs beside nearcast.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.once('error', reject);
  });
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
export function waitListening(port: number, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const end = Date.now() + timeoutMs;
    const probe = () => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve();
      });
      c.once('error', () => (Date.now() > end ? reject(new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s`)) : setTimeout(probe, 100)));
    };
    probe();
  });
}

export interface SnapServer {
  proc: ChildProcess;
  port: number;
  log: string[];
}

/** snapserver with only its stream port open, bound to 127.0.0.1 (HTTP and JSON-RPC TCP control off). */
export async function startSnapserver(dir: string, fifo: string, o: { codec?: string; bufferMs?: number } = {}): Promise<SnapServer> {
  const port = await freePort();
  const conf = path.join(dir, 'snapserver.conf');
  spawnSync('touch', [conf]);
  const proc = spawn(
    'snapserver',
    [
      '-c',
      conf,
      `--server.datadir=${dir}`,
      '--http.enabled=false',
      '--tcp.enabled=false',
      '--stream.bind_to_address=127.0.0.1',
      `--stream.port=${port}`,
      `--stream.source=pipe://${fifo}?name=default&mode=read`,
      `--stream.codec=${o.codec ?? 'flac'}`,
      '--stream.chunk_ms=20',
      `--stream.buffer=${o.bufferMs ?? 1000}`,
      '--logging.sink=stderr',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const log: string[] = [];
  readline.createInterface({ input: proc.stderr! }).on('line', (l) => {
    log.push(l);
    if (log.length > 200) log.shift();
  });
  await waitListening(port, 15_000, 'snapserver').catch((e: Error) => {
    proc.kill('SIGKILL');
    throw new Error(`${e.message}\n${log.join('\n')}`);
  });
  return { proc, port, log };
}

/** snapclient log lines that mean audio was missing or late (it counts no underruns itself at the default log level) */
const LATE_CHUNK = /underrun|failed to get chunk|no chunks available|buffer.*(empty|too small)|xrun/i;

export interface SnapClient {
  name: string;
  proc: ChildProcess;
  lateChunkLines: number;
  log: string[];
}

/** `nice`: the snapclient's nice value, the same as the players it is compared with */
export function startSnapclient(name: string, port: number, pcm: string, env: NodeJS.ProcessEnv, nice = 0): SnapClient {
  const proc = spawn(
    'nice',
    ['-n', String(nice), 'snapclient', '-h', '127.0.0.1', '-p', String(port), '--hostID', `bench-${name}`, '--player', 'alsa', '-s', pcm, '--logsink', 'stderr'],
    {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const c: SnapClient = { name, proc, lateChunkLines: 0, log: [] };
  readline.createInterface({ input: proc.stderr! }).on('line', (l) => {
    if (LATE_CHUNK.test(l)) c.lateChunkLines++;
    c.log.push(l);
    if (c.log.length > 100) c.log.shift();
  });
  return c;
}
