// A music server that speaks the Subsonic API (OpenSubsonic: Navidrome, Gonic,
// Airsonic-Advanced, Ampache…), as one backend of the box's library.
//
// Why a small client of our own rather than the `subsonic-api` package: the box uses
// a few calls (ping, search3, getSongsByGenre, stream, getCoverArt), and the one that matters most,
// stream, is not fetched here at all: the URL source streams it into the decoder and
// asks this client to add the credentials at the moment of the request
// (`authorize`), so they live in this object only, never in a URL that is stored,
// logged or published. That takes a few lines over fetch and adds nothing to the box.
//
// Auth is the Subsonic salted token: t = md5(password + s) with a fresh random salt s
// per request (the password itself never goes on the wire), or an OpenSubsonic API key
// (`apiKey=`, for servers that list the `apiKeyAuthentication` extension): then no
// u/t/s at all, since the extension makes a server refuse a mix with error 43.

import { createHash, randomBytes } from 'node:crypto';
import { trackIdFor, type Track } from './track.ts';

export interface SubsonicServerOptions {
  name: string;
  url: string;
  /** username and password (salted token), or an API key: exactly one way */
  username?: string;
  password?: string;
  apiKey?: string;
  /** a search waits this long (default 1000) */
  timeoutMs?: number;
}

/** the Subsonic API version we speak (1.16.1: search3, stream, getCoverArt as used here) */
const API_VERSION = '1.16.1';
const CLIENT = 'nearcast';
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const COVER_TIMEOUT_MS = 3000;

interface SubsonicSong {
  id?: unknown;
  title?: unknown;
  artist?: unknown;
  album?: unknown;
  duration?: unknown;
  suffix?: unknown;
  coverArt?: unknown;
  genre?: unknown;
  /** OpenSubsonic: every genre of the song */
  genres?: unknown;
  year?: unknown;
  isDir?: unknown;
  isVideo?: unknown;
}

export class SubsonicServer {
  readonly name: string;
  readonly timeoutMs: number;
  private readonly base: URL;

  constructor(private readonly options: SubsonicServerOptions) {
    this.name = options.name;
    this.timeoutMs = options.timeoutMs ?? 1000;
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new RangeError(`server '${options.name}': url '${options.url}' is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new RangeError(`server '${options.name}': url must be http or https`);
    if (base.username || base.password || base.search) throw new RangeError(`server '${options.name}': url must not hold credentials or a query; use username and password`);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = base;
    const byKey = options.apiKey !== undefined;
    const byPassword = options.username !== undefined || options.password !== undefined;
    if (byKey === byPassword || (byPassword && (!options.username || !options.password)))
      throw new RangeError(`server '${options.name}': give username and password, or an API key (not both)`);
  }

  /** how the box signs in: an OpenSubsonic API key or the salted token */
  get auth(): 'apiKey' | 'token' {
    return this.options.apiKey !== undefined ? 'apiKey' : 'token';
  }

  /** the URL of an API call without credentials (safe to store and show) */
  endpoint(method: string, params: Record<string, string> = {}): URL {
    const url = new URL(`rest/${method}`, this.base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url;
  }

  /** `url` with this server's credentials added: a fresh salted token, for one request */
  readonly authorize = (url: URL): URL => {
    const out = new URL(url);
    out.searchParams.set('v', API_VERSION);
    out.searchParams.set('c', CLIENT);
    if (this.options.apiKey !== undefined) {
      out.searchParams.set('apiKey', this.options.apiKey);
      return out;
    }
    const salt = randomBytes(8).toString('hex');
    out.searchParams.set('u', this.options.username ?? '');
    out.searchParams.set(
      't',
      createHash('md5')
        .update(this.options.password + salt, 'utf8')
        .digest('hex'),
    );
    out.searchParams.set('s', salt);
    return out;
  };

  /** Checks the server answers and accepts the credentials; rejects with the server's own reason. */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.call('ping', {}, signal);
  }

  /**
   * The OpenSubsonic extensions the server lists (getOpenSubsonicExtensions, which the
   * specification makes answer without credentials); [] for a plain Subsonic server.
   */
  async extensions(signal?: AbortSignal): Promise<string[]> {
    const body = await this.call('getOpenSubsonicExtensions', {}, signal, false).catch((e: Error) => {
      // a server without OpenSubsonic does not know the method: no extensions, not a failure
      if (/Subsonic error (0|70)\)/.test(e.message)) return { openSubsonicExtensions: [] };
      throw e;
    });
    const list = Array.isArray(body.openSubsonicExtensions) ? (body.openSubsonicExtensions as Array<{ name?: unknown }>) : [];
    return list.flatMap((x) => (typeof x?.name === 'string' ? [x.name] : []));
  }

  /** Songs matching `query`, as library tracks of this server (their `path` is the stream URL, without credentials). */
  async search(query: string, limit: number, signal?: AbortSignal): Promise<Track[]> {
    const body = await this.call('search3', { query, songCount: String(limit), artistCount: '0', albumCount: '0' }, signal);
    const result = body.searchResult3 as { song?: unknown } | undefined;
    const songs = Array.isArray(result?.song) ? (result.song as SubsonicSong[]) : [];
    return songs.flatMap((song) => this.toTrack(song));
  }

  /** Up to `count` songs of a genre (getSongsByGenre, at most 500 a call), as library tracks of this server. */
  async songsByGenre(genre: string, count: number, signal?: AbortSignal): Promise<Track[]> {
    const body = await this.call('getSongsByGenre', { genre, count: String(Math.min(500, count)), offset: '0' }, signal);
    const result = body.songsByGenre as { song?: unknown } | undefined;
    const songs = Array.isArray(result?.song) ? (result.song as SubsonicSong[]) : [];
    return songs.flatMap((song) => this.toTrack(song));
  }

  /** A song's cover art (at most 4 MiB, within 3 s); null when the server has none. */
  async coverArt(coverId: string): Promise<{ data: Uint8Array; type: string } | null> {
    try {
      const response = await fetch(this.authorize(this.endpoint('getCoverArt', { id: coverId, size: '600' })), { signal: AbortSignal.timeout(COVER_TIMEOUT_MS) });
      const type = response.headers.get('content-type') ?? '';
      // an error comes back as Subsonic JSON with HTTP 200: only an image is a cover
      if (!response.ok || !type.startsWith('image/')) {
        await response.body?.cancel();
        return null;
      }
      if (Number(response.headers.get('content-length') ?? 0) > MAX_RESPONSE_BYTES) {
        await response.body?.cancel();
        return null;
      }
      const data = new Uint8Array(await response.arrayBuffer());
      return data.length > 0 && data.length <= MAX_RESPONSE_BYTES ? { data, type } : null;
    } catch {
      return null; // unreachable now: the page shows no cover
    }
  }

  private toTrack(song: SubsonicSong): Track[] {
    if (typeof song.id !== 'string' && typeof song.id !== 'number') return [];
    if (song.isDir === true || song.isVideo === true) return [];
    const remoteId = String(song.id);
    const title = typeof song.title === 'string' && song.title ? song.title : remoteId;
    const suffix = typeof song.suffix === 'string' ? song.suffix : '';
    const genres = Array.isArray(song.genres)
      ? (song.genres as Array<{ name?: unknown }>).flatMap((g) => (typeof g?.name === 'string' && g.name ? [g.name] : []))
      : typeof song.genre === 'string' && song.genre
        ? [song.genre]
        : [];
    return [
      {
        id: trackIdFor(`${this.name}\n${remoteId}`),
        // format=raw: the original file. The box decodes anything ffmpeg does and encodes once for its
        // listeners; a server transcode to MP3 first would be a second lossy step for nothing on a home network
        path: this.endpoint('stream', { id: remoteId, format: 'raw' }).href,
        title,
        artist: typeof song.artist === 'string' ? song.artist : '',
        album: typeof song.album === 'string' ? song.album : '',
        durationMs: typeof song.duration === 'number' && song.duration > 0 ? Math.round(song.duration * 1000) : 0,
        fileName: suffix ? `${title}.${suffix}` : title,
        hasArtwork: typeof song.coverArt === 'string' && song.coverArt !== '',
        ...(genres.length > 0 && { genres }),
        ...(typeof song.year === 'number' && Number.isInteger(song.year) && song.year > 0 && { year: song.year }),
        server: this.name,
        remoteId,
        ...(typeof song.coverArt === 'string' && song.coverArt !== '' && { coverId: song.coverArt }),
      },
    ];
  }

  /** one API call in JSON; a Subsonic error (status "failed", HTTP 200) becomes an Error with its message */
  private async call(method: string, params: Record<string, string>, signal?: AbortSignal, signed = true): Promise<Record<string, unknown>> {
    const plain = this.endpoint(method, { ...params, f: 'json', v: API_VERSION, c: CLIENT });
    const url = signed ? this.authorize(plain) : plain;
    let response: Response;
    try {
      response = await fetch(url, { signal, redirect: 'follow' });
    } catch (e) {
      const why = (e as Error).name === 'AbortError' || (e as Error).name === 'TimeoutError' ? 'no answer in time' : describe(e as Error);
      throw new Error(`server '${this.name}': ${why}`);
    }
    if (!response.ok) throw new Error(`server '${this.name}': HTTP ${response.status} for ${method}`);
    const text = await response.text();
    if (text.length > MAX_RESPONSE_BYTES) throw new Error(`server '${this.name}': ${method} answer larger than ${MAX_RESPONSE_BYTES} bytes`);
    let body: unknown;
    try {
      body = (JSON.parse(text) as Record<string, unknown>)['subsonic-response'];
    } catch {
      throw new Error(`server '${this.name}': ${method} did not answer in Subsonic JSON (is the url the server's address?)`);
    }
    if (!body || typeof body !== 'object') throw new Error(`server '${this.name}': ${method} did not answer in Subsonic JSON`);
    const answer = body as Record<string, unknown>;
    if (answer.status !== 'ok') {
      const error = answer.error as { code?: unknown; message?: unknown } | undefined;
      throw new Error(
        `server '${this.name}': ${typeof error?.message === 'string' ? error.message : 'request failed'}${error?.code !== undefined ? ` (Subsonic error ${String(error.code)})` : ''}`,
      );
    }
    return answer;
  }
}

/** a fetch failure's cause in words, without the URL (it carries the credentials) */
function describe(e: Error): string {
  const code = (e.cause as { code?: string } | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET') return 'connection reset';
  return code ?? 'cannot reach it';
}
