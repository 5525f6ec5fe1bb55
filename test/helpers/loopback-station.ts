// A radio station on loopback for tests: a looped MP3 tone served over HTTP and
// paced like a real station (128 kbit/s after a 2 s burst), so it never ends by
// itself and never leaves minutes of audio in the socket buffers. `close()` is the
// station dying: the server stops and every listener's connection is cut.

import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackStation {
  url: string;
  close(): void;
}

const BYTES_PER_TICK = 1600; // 100 ms at 128 kbit/s

/** An MP3 of a `hz` tone, `seconds` long, 48 kHz stereo, 128 kbit/s. */
export function mp3Tone(hz: number, seconds = 4): Buffer {
  return execFileSync('ffmpeg', [
    '-nostdin',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `sine=f=${hz}:d=${seconds}:sample_rate=48000`,
    '-ac',
    '2',
    '-c:a',
    'libmp3lame',
    '-b:a',
    '128k',
    '-f',
    'mp3',
    '-',
  ]);
}

/** Serves a `hz` tone on 127.0.0.1 at /live; `headers` go with the response (an `icy-name`, ...). */
export async function startLoopbackStation(hz: number, headers: Record<string, string> = {}): Promise<LoopbackStation> {
  const mp3 = mp3Tone(hz);
  const server = http.createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'audio/mpeg', ...headers });
    let at = 0;
    const send = (bytes: number) => {
      const parts: Buffer[] = [];
      for (let left = bytes; left > 0; ) {
        const part = mp3.subarray(at, Math.min(mp3.length, at + left));
        parts.push(part);
        left -= part.length;
        at = (at + part.length) % mp3.length;
      }
      response.write(Buffer.concat(parts));
    };
    send(20 * BYTES_PER_TICK);
    const timer = setInterval(() => send(BYTES_PER_TICK), 100);
    response.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/live`,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}
