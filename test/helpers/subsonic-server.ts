// A small Subsonic/OpenSubsonic server for tests, built from the OpenSubsonic
// specification's documented responses (ping, search3, getSongsByGenre, stream,
// getCoverArt, getOpenSubsonicExtensions; JSON with f=json; salted-token auth t = md5(password + s);
// with `apiKey` given, the apiKeyAuthentication extension: `apiKey=` alone, error 43
// when it comes with u/t/s/p, 44 for a wrong key, and 42 for a token when `keyOnly`).
// No OpenSubsonic server installs here (Debian has no navidrome, gonic or airsonic
// package), so the tests talk to this one. It serves real audio files, answers
// errors the way the spec says (HTTP 200 with status "failed" and an error code),
// can be made slow, can cut a stream half-way, and records every request.

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestSong {
  id: string;
  title: string;
  artist: string;
  album: string;
  file: string;
  durationS: number;
  contentType: string;
  suffix: string;
  genre?: string;
}

export interface SubsonicTestServer {
  url: string;
  /** the query strings of every request, in order (to check what the client sent) */
  requests: URL[];
  /** every search waits this long before answering */
  searchDelayMs: number;
  /** a stream sends this fraction of the file, then the connection is cut (1: whole) */
  streamFraction: number;
  close(): Promise<void>;
}

const VERSION = '1.16.1';

export interface SubsonicServerOptions {
  username: string;
  password: string;
  songs: TestSong[];
  /** the API key this server accepts (it then lists the apiKeyAuthentication extension) */
  apiKey?: string;
  /** refuse the salted token and plain passwords (error 42), as the extension recommends */
  keyOnly?: boolean;
}

export async function startSubsonicServer(options: SubsonicServerOptions): Promise<SubsonicTestServer> {
  const sockets = new Set<import('node:net').Socket>();
  const state = { searchDelayMs: 0, streamFraction: 1 };
  const requests: URL[] = [];
  const reply = (res: http.ServerResponse, body: Record<string, unknown>) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ 'subsonic-response': { status: 'ok', version: VERSION, type: 'nearcast-test', serverVersion: '0.1', openSubsonic: true, ...body } }));
  };
  const fail = (res: http.ServerResponse, code: number, message: string) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({ 'subsonic-response': { status: 'failed', version: VERSION, type: 'nearcast-test', serverVersion: '0.1', openSubsonic: true, error: { code, message } } }),
    );
  };
  const song = (s: TestSong) => ({
    id: s.id,
    parent: 'al-1',
    isDir: false,
    title: s.title,
    album: s.album,
    artist: s.artist,
    duration: s.durationS,
    size: statSync(s.file).size,
    suffix: s.suffix,
    contentType: s.contentType,
    coverArt: `mf-${s.id}`,
    ...(s.genre !== undefined && { genre: s.genre, genres: [{ name: s.genre }] }),
    type: 'music',
    mediaType: 'song',
  });

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url);
    const method = url.pathname.replace(/^\/rest\//, '').replace(/\.view$/, '');
    const q = url.searchParams;
    if (!q.get('v') || !q.get('c')) return fail(res, 10, 'Required parameter is missing.');
    // the specification makes this one answer without credentials
    if (method === 'getOpenSubsonicExtensions')
      return reply(res, { openSubsonicExtensions: [{ name: 'formPost', versions: [1] }, ...(options.apiKey ? [{ name: 'apiKeyAuthentication', versions: [1] }] : [])] });
    const key = q.get('apiKey');
    if (key !== null) {
      if (!options.apiKey) return fail(res, 42, 'Provided authentication mechanism not supported.');
      if (['u', 't', 's', 'p'].some((k) => q.has(k))) return fail(res, 43, 'Multiple conflicting authentication mechanisms provided.');
      if (key !== options.apiKey) return fail(res, 44, 'Invalid API key.');
      return serve(method, q, res);
    }
    // authentication: u plus either t/s (salted token) or p (plain, or enc:hex)
    const user = q.get('u');
    if (!user) return fail(res, 10, 'Required parameter is missing.');
    if (options.keyOnly) return fail(res, 42, 'Provided authentication mechanism not supported. Use API keys.');
    const token = q.get('t');
    const salt = q.get('s');
    const ok =
      user === options.username &&
      (token && salt
        ? createHash('md5')
            .update(options.password + salt)
            .digest('hex') === token
        : q.get('p') === options.password);
    if (!ok) return fail(res, 40, 'Wrong username or password.');
    return serve(method, q, res);
  });
  const serve = (method: string, q: URLSearchParams, res: http.ServerResponse) => {
    switch (method) {
      case 'ping':
        return reply(res, {});
      case 'search3': {
        const query = (q.get('query') ?? '').toLowerCase().replace(/"/g, '').trim();
        const count = Number(q.get('songCount') ?? 20);
        const words = query.split(/\s+/).filter(Boolean);
        const found = options.songs.filter((s) => words.every((w) => `${s.title} ${s.artist} ${s.album}`.toLowerCase().includes(w))).slice(0, count);
        const answer = () => {
          if (!res.destroyed) reply(res, { searchResult3: { song: found.map(song) } });
        };
        if (state.searchDelayMs > 0) setTimeout(answer, state.searchDelayMs).unref();
        else answer();
        return;
      }
      case 'getSongsByGenre': {
        const genre = q.get('genre');
        if (!genre) return fail(res, 10, 'Required parameter is missing.');
        const count = Math.min(500, Number(q.get('count') ?? 10));
        const offset = Number(q.get('offset') ?? 0);
        return reply(res, {
          songsByGenre: {
            song: options.songs
              .filter((s) => s.genre === genre)
              .slice(offset, offset + count)
              .map(song),
          },
        });
      }
      case 'stream': {
        const s = options.songs.find((x) => x.id === q.get('id'));
        if (!s) return fail(res, 70, 'The requested data was not found.');
        const bytes = readFileSync(s.file);
        res.writeHead(200, { 'Content-Type': s.contentType, 'Content-Length': String(bytes.length) });
        if (state.streamFraction >= 1) return void res.end(bytes);
        res.write(bytes.subarray(0, Math.floor(bytes.length * state.streamFraction)), () => res.destroy());
        return;
      }
      case 'getCoverArt': {
        if (!options.songs.some((s) => `mf-${s.id}` === q.get('id'))) return fail(res, 70, 'The requested data was not found.');
        // a 1×1 PNG
        res.writeHead(200, { 'Content-Type': 'image/png' });
        return void res.end(
          Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex'),
        );
      }
      default:
        return fail(res, 0, `Unknown method ${method}`);
    }
  };
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get searchDelayMs() {
      return state.searchDelayMs;
    },
    set searchDelayMs(v) {
      state.searchDelayMs = v;
    },
    get streamFraction() {
      return state.streamFraction;
    },
    set streamFraction(v) {
      state.streamFraction = v;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
