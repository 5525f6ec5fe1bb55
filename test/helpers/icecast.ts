// A real Icecast 2 (Debian's icecast2) on a free loopback port, from a config
// generated in a temp dir, run as a normal child process; and ffmpeg feeding it a
// tone as an MP3 source on loopback, the way a radio station's encoder does.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Icecast {
  port: number;
  /** the listen URL of a mount, e.g. http://127.0.0.1:PORT/live.mp3 */
  url(mount: string): string;
  /** ffmpeg sending a sine at `hz` to `mount` in real time; resolves once listeners can get it */
  feed(mount: string, hz: number, stationName: string): Promise<ChildProcess>;
  /** sets a mount's StreamTitle through the admin interface (what a station's playout software does) */
  setTitle(mount: string, song: string): Promise<void>;
  /** icecast's own error log, for failure messages */
  log(): string;
  stop(): Promise<void>;
}

const SOURCE_PASSWORD = 'feed-secret';
const ADMIN_PASSWORD = 'admin-secret';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function get(url: string, auth?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const request = http.get(url, { headers: auth ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {} }, (res) => {
      // a live mount never ends: the status is all we need from it
      if ((res.headers['content-type'] ?? '').startsWith('audio/')) {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, body: '' });
        return;
      }
      let body = '';
      res.on('data', (b: Buffer) => {
        body += b.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    request.setTimeout(2000, () => request.destroy());
    request.on('error', () => resolve({ status: 0, body: '' }));
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, log: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`icecast: ${what} not within ${timeoutMs} ms\n${log()}`);
}

export async function startIcecast(): Promise<Icecast> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-icecast-'));
  const logDir = path.join(dir, 'log');
  mkdirSync(logDir);
  // Icecast refuses to run as root; as root it is told to drop to nobody, which must reach its log dir
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    chmodSync(dir, 0o755);
    chmodSync(logDir, 0o777);
  }
  const port = await freePort();
  const config = path.join(dir, 'icecast.xml');
  writeFileSync(
    config,
    `<icecast>
  <limits><sources>8</sources><burst-size>16384</burst-size><source-timeout>5</source-timeout></limits>
  <authentication><source-password>${SOURCE_PASSWORD}</source-password><admin-user>admin</admin-user><admin-password>${ADMIN_PASSWORD}</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>${port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>0</fileserve>
  <paths><logdir>${logDir}</logdir><webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><errorlog>error.log</errorlog><accesslog>access.log</accesslog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot>${asRoot ? '<changeowner><user>nobody</user><group>nogroup</group></changeowner>' : ''}</security>
</icecast>
`,
  );
  const output: string[] = [];
  const proc = spawn('icecast2', ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
  proc.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
  const feeders = new Set<ChildProcess>();
  const log = () => {
    let errors = '';
    try {
      errors = readFileSync(path.join(logDir, 'error.log'), 'utf8').slice(-3000);
    } catch {
      /* not written yet */
    }
    return `icecast output: ${output.join('').slice(-2000)}\nerror.log: ${errors}`;
  };
  const base = `http://127.0.0.1:${port}`;
  await until(
    'listening',
    async () => {
      if (proc.exitCode !== null) throw new Error(`icecast2 exited with ${proc.exitCode}\n${log()}`);
      return (await get(`${base}/status-json.xsl`)).status > 0;
    },
    10_000,
    log,
  );

  return {
    port,
    url: (mount) => `${base}/${mount}`,
    async feed(mount, hz, stationName) {
      const ffmpeg = spawn(
        'ffmpeg',
        [
          '-nostdin',
          '-loglevel',
          'error',
          '-re',
          '-f',
          'lavfi',
          '-i',
          `sine=f=${hz}:sample_rate=48000`,
          '-ac',
          '2',
          '-ar',
          '48000',
          '-c:a',
          'libmp3lame',
          '-b:a',
          '128k',
          '-content_type',
          'audio/mpeg',
          '-ice_name',
          stationName,
          '-f',
          'mp3',
          `icecast://source:${SOURCE_PASSWORD}@127.0.0.1:${port}/${mount}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const errors: string[] = [];
      ffmpeg.stderr!.on('data', (b: Buffer) => errors.push(b.toString()));
      feeders.add(ffmpeg);
      ffmpeg.once('exit', () => feeders.delete(ffmpeg));
      await until(
        `mount /${mount} live`,
        async () => {
          if (ffmpeg.exitCode !== null) throw new Error(`the feeding ffmpeg exited with ${ffmpeg.exitCode}: ${errors.join('')}\n${log()}`);
          return (await get(`${base}/${mount}`)).status === 200;
        },
        10_000,
        log,
      );
      return ffmpeg;
    },
    async setTitle(mount, song) {
      const r = await get(`${base}/admin/metadata?mount=/${encodeURIComponent(mount)}&mode=updinfo&song=${encodeURIComponent(song)}`, `admin:${ADMIN_PASSWORD}`);
      if (r.status !== 200 || !r.body.includes('<return>1</return>')) throw new Error(`icecast metadata update failed: HTTP ${r.status} ${r.body}`);
    },
    log,
    async stop() {
      for (const f of feeders) f.kill('SIGKILL');
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
