// UrlSource against HTTP servers this test runs on loopback: playlists resolved to the
// stream, ICY titles, a music server's track played to its end, a server dying mid-track
// (what arrived is played, then the error, without the credentials), a dead station
// retried with growing delays. Real ffmpeg decodes.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { UrlSource } from '../../../../../firmware/audio/sources/url-source.ts';
import { mp3Tone } from '../../../../helpers/loopback-station.ts';

/** reads the source like the engine does (960 frames per 20 ms) until `done` or the deadline */
async function pump(source: UrlSource, done: () => boolean, maxMs: number): Promise<number> {
  let frames = 0;
  const end = Date.now() + maxMs;
  while (!done() && Date.now() < end) {
    frames += source.read(960).length / 2;
    await new Promise((r) => setTimeout(r, 5));
  }
  return frames;
}

function withIcy(audio: Buffer, metaint: number, title: string): Buffer {
  const text = Buffer.from(`StreamTitle='${title}';`);
  const block = Buffer.alloc(1 + Math.ceil(text.length / 16) * 16);
  block[0] = Math.ceil(text.length / 16);
  text.copy(block, 1);
  const parts: Buffer[] = [];
  for (let at = 0; at + metaint <= audio.length; at += metaint) parts.push(audio.subarray(at, at + metaint), at === 0 ? block : Buffer.from([0]));
  return Buffer.concat(parts);
}

describe('UrlSource', function () {
  this.timeout(30_000);
  let mp3: Buffer;
  let server: http.Server;
  let base: string;
  const requests: string[] = [];

  before(async () => {
    // 2 s of 440 Hz as MP3, the usual radio and server format
    mp3 = mp3Tone(440, 2);
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/station.pls') {
        res.writeHead(200, { 'Content-Type': 'audio/x-scpls' }).end(`[playlist]\nFile1=${base}/icy\n`);
      } else if (url.pathname === '/station.m3u') {
        res.writeHead(200, { 'Content-Type': 'audio/x-mpegurl' }).end('#EXTM3U\n#EXTINF:-1,Test\nicy\n');
      } else if (url.pathname === '/icy') {
        res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'icy-metaint': '8192', 'icy-name': 'Loop FM' });
        res.end(withIcy(mp3, 8192, 'Ann - First Song'));
      } else if (url.pathname === '/track') {
        res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': String(mp3.length) }).end(mp3);
      } else if (url.pathname === '/dies') {
        res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': String(mp3.length) });
        res.write(mp3.subarray(0, mp3.length >> 1), () => res.destroy());
      } else if (url.pathname === '/gone') {
        res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ 'subsonic-response': { status: 'failed', error: { code: 70, message: 'The requested data was not found.' } } }));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  for (const list of ['station.pls', 'station.m3u']) {
    it(`resolves a ${list.split('.')[1]} playlist to the stream and reports its ICY title and name`, async () => {
      const source = new UrlSource(`${base}/${list}`, { live: true, label: 'Loop FM', retryMs: [50, 100], prebufferMs: 100 });
      const titles: unknown[] = [];
      const connected: unknown[] = [];
      source.on('title', (t) => titles.push(t));
      source.on('connected', (c) => connected.push(c));
      try {
        let frames = 0;
        // reading until audio comes (ffmpeg's start takes a while on a loaded machine)
        await pump(
          source,
          () => {
            frames += source.read(960).length / 2;
            return frames > 0 && titles.length > 0;
          },
          15_000,
        );
        expect(connected[0]).to.deep.equal({ station: 'Loop FM', contentType: 'audio/mpeg' });
        expect(titles[0]).to.deep.equal({ title: 'First Song', artist: 'Ann', station: 'Loop FM' });
        expect(source.streamTitle).to.deep.equal(titles[0]);
        expect(frames, 'decoded audio').to.be.greaterThan(0);
      } finally {
        source.close();
      }
    });
  }

  it("plays a SHOUTcast v1 server's answer ('ICY 200 OK', metadata interleaved), which Node's HTTP parser alone refuses", async () => {
    // a raw TCP server speaking like SHOUTcast v1: status line, icy- headers, then audio with metadata blocks
    const heard: string[] = [];
    const shoutcast = net.createServer((socket) => {
      socket.once('data', (request) => {
        heard.push(request.toString('latin1'));
        socket.write('ICY 200 OK\r\nicy-notice1: <BR>This stream requires Winamp<BR>\r\nicy-name: Old School FM\r\ncontent-type: audio/mpeg\r\nicy-metaint: 8192\r\n\r\n');
        socket.end(withIcy(mp3, 8192, 'Bea - Second Song'));
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => shoutcast.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(shoutcast.address() as AddressInfo).port}/;stream.mp3`;
    try {
      // without the box's status-line shim, Node refuses this answer
      const refused = await new Promise<string>((resolve) => {
        http.get(url, (res) => resolve(`answered ${res.statusCode}`)).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
      expect(refused).to.equal('HPE_INVALID_CONSTANT');
      const source = new UrlSource(url, { live: true, label: 'Old School', retryMs: [50, 100], prebufferMs: 100 });
      const titles: unknown[] = [];
      const connected: unknown[] = [];
      source.on('title', (t) => titles.push(t));
      source.on('connected', (c) => connected.push(c));
      try {
        let frames = 0;
        await pump(
          source,
          () => {
            frames += source.read(960).length / 2;
            return frames > 48000 && titles.length > 0;
          },
          15_000,
        );
        expect(connected[0]).to.deep.equal({ station: 'Old School FM', contentType: 'audio/mpeg' });
        expect(titles[0]).to.deep.equal({ title: 'Second Song', artist: 'Bea', station: 'Old School FM' });
        expect(frames, 'decoded audio frames').to.be.greaterThan(48000);
        expect(heard.at(-1), 'the box asked for metadata').to.match(/icy-metadata: 1/i);
      } finally {
        source.close();
      }
    } finally {
      shoutcast.close();
    }
  });

  it('plays an HLS stream through ffmpeg, the playlist fetched first to know it is HLS', async () => {
    const hlsDir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-hls-'));
    execFileSync('ffmpeg', [
      '-nostdin',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'sine=f=440:d=4:sample_rate=48000',
      '-ac',
      '2',
      '-c:a',
      'aac',
      '-f',
      'hls',
      '-hls_time',
      '1',
      '-hls_list_size',
      '0',
      path.join(hlsDir, 'index.m3u8'),
    ]);
    const hls = http.createServer((req, res) => {
      const name = path.basename(new URL(req.url ?? '/', 'http://x').pathname);
      try {
        const body = readFileSync(path.join(hlsDir, name));
        res.writeHead(200, { 'Content-Type': name.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t' }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => hls.listen(0, '127.0.0.1', r));
    const source = new UrlSource(`http://127.0.0.1:${(hls.address() as AddressInfo).port}/index.m3u8`, { live: true, label: 'HLS FM', retryMs: [5000, 5000], prebufferMs: 100 });
    const connected: unknown[] = [];
    source.on('connected', (c) => connected.push(c));
    try {
      let frames = 0;
      await pump(
        source,
        () => {
          frames += source.read(960).length / 2;
          return frames > 48000;
        },
        20_000,
      );
      expect(connected[0]).to.deep.equal({ station: 'HLS FM', contentType: 'application/vnd.apple.mpegurl' });
      expect(frames, 'decoded frames (more than 1 s)').to.be.greaterThan(48000);
    } finally {
      source.close();
      await new Promise<void>((r) => hls.close(() => r()));
      rmSync(hlsDir, { recursive: true, force: true });
    }
  });

  it("plays a server's track to its end (no reconnect)", async () => {
    const source = new UrlSource(`${base}/track`, { live: false, label: 'a track', trackId: 't1' });
    try {
      const frames = await pump(source, () => source.ended || source.error !== null, 10_000);
      expect(source.error).to.equal(null);
      expect(source.ended).to.equal(true);
      // MP3 pads the start and end by up to a frame or two
      expect(frames, 'frames of a 2 s track').to.be.within(96000, 96000 + 3 * 1152);
    } finally {
      source.close();
    }
  });

  it('a server dying mid-track: what arrived is played, then an error that names the track, not its credentials', async () => {
    const source = new UrlSource(`${base}/dies`, {
      live: false,
      label: 'Song (home server)',
      trackId: 't2',
      authorize: (url) => {
        url.searchParams.set('t', 'secret-token');
        return url;
      },
    });
    try {
      const frames = await pump(source, () => source.error !== null, 10_000);
      expect(frames, 'frames played before the error (half of 2 s arrived)').to.be.within(30000, 60000);
      expect(source.error?.message).to.match(/^Song \(home server\): /);
      expect(source.error?.message).not.to.include('secret');
      expect(source.ended).to.equal(false);
      expect(
        requests.some((r) => r.startsWith('/dies?t=secret-token')),
        'the credentials went to the server',
      ).to.equal(true);
    } finally {
      source.close();
    }
  });

  it("a server's error answer instead of audio fails the track with the server's message", async () => {
    const source = new UrlSource(`${base}/gone`, { live: false, label: 'Lost Song (home)', trackId: 't3' });
    try {
      await pump(source, () => source.error !== null, 10_000);
      expect(source.error?.message).to.equal('Lost Song (home): the server answered instead of sending audio: The requested data was not found.');
    } finally {
      source.close();
    }
  });

  it('a station that cannot be reached is told, and retried with growing delays', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const source = new UrlSource(`http://127.0.0.1:${port}/live`, { live: true, label: 'Dead FM', retryMs: [50, 200] });
    const lost: Array<{ message: string; retryInMs: number }> = [];
    source.on('lost', (e) => lost.push(e));
    try {
      await pump(source, () => lost.length >= 4, 10_000);
      expect(lost.map((e) => e.retryInMs)).to.deep.equal([50, 100, 200, 200]);
      expect(lost[0]?.message).to.equal('Dead FM: connection refused');
      expect(source.error, 'a live source never fails for good').to.equal(null);
    } finally {
      source.close();
    }
  });

  it('refuses what is not an http(s) URL', () => {
    expect(() => new UrlSource('file:///etc/passwd', { live: true, label: 'x' })).to.throw(RangeError, /only http and https/);
    expect(() => new UrlSource('not a url', { live: true, label: 'x' })).to.throw(RangeError, /not a URL/);
  });
});
