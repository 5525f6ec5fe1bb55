// Audio from an http/https URL: an internet radio station (Icecast, SHOUTcast v2,
// a .m3u/.pls playlist naming one, an HLS playlist) or a track on a music server.
//
// Why the box reads the HTTP stream itself and pipes the audio into ffmpeg (rather
// than handing ffmpeg the URL): ICY metadata. ffmpeg reads the `StreamTitle` blocks
// but its command line has no way to tell us when one changes; reading the stream
// ourselves with `Icy-MetaData: 1` gives every title change the moment it arrives
// (icy.ts), one place decides about timeouts and reconnects, and a music server's
// URL with its credentials stays inside the box's process (never on a command line).
// Only HLS goes to ffmpeg by URL: its segments are fetched by ffmpeg's HLS demuxer.
//
// A live stream (radio) never ends: when it drops or cannot be reached the source
// says so (`lost`, with the retry delay) and reconnects with backoff, playing what
// was buffered meanwhile; once audio flows again it says `connected`. A track
// (`live: false`) ends with its body; if the server disappears mid-song, what
// arrived is still played and then the source fails, so the box moves on with an
// error event.

import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { PcmSource, StreamTitle } from '../types.ts';
import type { PcmFormat } from '../../wire/format.ts';
import { FfmpegDecoder } from './ffmpeg-decoder.ts';
import { IcyDemuxer, splitStreamTitle, type IcyFields } from './icy.ts';
import { isHls, playlistEntries, playlistKind } from './playlist.ts';
import { describeNetworkError, openHttp, readBounded } from './stream-http.ts';
import { monotonicMs } from '../../util/time.ts';

export interface UrlSourceOptions {
  /** radio: reconnect for ever; a track: end with the body */
  live: boolean;
  /** what messages and events call it: a station's name or `url:<url>`; never holds credentials */
  label: string;
  /** adds credentials to the request URL at the moment of the request (a music server's auth) */
  authorize?: (url: URL) => URL;
  trackId?: string;
  format?: PcmFormat;
  ffmpegPath?: string;
  retryMs?: [number, number]; // reconnect backoff, first and longest (default 1000, 30000)
  connectTimeoutMs?: number; // default 5000
  /** no data for this long counts as a dropped stream (default 10000) */
  idleTimeoutMs?: number;
  /** a live stream starts (and restarts after running dry) only with this much decoded (default 500) */
  prebufferMs?: number;
}

export interface UrlSourceEvents {
  connected: [{ station: string; contentType: string }];
  lost: [{ message: string; retryInMs: number }];
  title: [StreamTitle];
}

const MAX_PLAYLIST_DEPTH = 3;
const NOT_AUDIO = /^(application\/json|application\/xml|text\/)/i;
const FORMAT_OF_TYPE: Record<string, string> = {
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/aac': 'aac',
  'audio/aacp': 'aac',
  'audio/x-aac': 'aac',
  'audio/ogg': 'ogg',
  'application/ogg': 'ogg',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
};
/** a connection that carried audio this long resets the backoff */
const STABLE_MS = 10_000;

export class UrlSource extends EventEmitter<UrlSourceEvents> implements PcmSource {
  readonly kind = 'url' as const;
  readonly description: string;
  readonly trackId?: string;
  streamTitle: StreamTitle | null = null;
  private readonly url: URL;
  private readonly retryMs: [number, number];
  /** decoders in play order: the current connection's last; earlier ones drain first */
  private decoders: FfmpegDecoder[] = [];
  private response: IncomingMessage | null = null;
  private pendingError: Error | null = null;
  private finalError: Error | null = null;
  private bodyDone = false; // a track's body arrived whole
  private buffering = true;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private lastDataAt = 0;
  private backoff: number;
  private station = '';
  private connectedAt = 0;

  constructor(
    url: string,
    private readonly options: UrlSourceOptions,
  ) {
    super();
    this.url = checkedUrl(url, options.label);
    this.trackId = options.trackId;
    this.description = options.label;
    this.retryMs = options.retryMs ?? [1000, 30_000];
    this.backoff = this.retryMs[0];
    void this.connect();
  }

  get error(): Error | null {
    if (this.finalError) return this.finalError;
    // a track whose server failed plays what arrived first, then fails
    if (this.pendingError && this.decoders.every((d) => d.ended || d.error)) this.finalError = this.pendingError;
    return this.finalError;
  }

  get ended(): boolean {
    return !this.options.live && this.bodyDone && !this.pendingError && this.decoders.every((d) => d.ended);
  }

  /** frames left once the whole track is decoded (for the engine to pre-open the next); null before */
  remainingFrames(): number | null {
    if (this.options.live || !this.bodyDone || this.decoders.some((d) => !d.finished)) return null;
    return this.decoders.reduce((n, d) => n + d.bufferedFrames, 0);
  }

  read(frames: number): Int16Array {
    if (this.closed || this.finalError) return new Int16Array(0);
    while (this.decoders.length > 1 && (this.decoders[0]?.ended || this.decoders[0]?.error)) this.decoders.shift()?.close();
    const decoder = this.decoders[0];
    if (!decoder) return new Int16Array(0);
    if (this.options.live && this.buffering) {
      const prebuffer = ((this.options.prebufferMs ?? 500) * decoder.format.sampleRate) / 1000;
      if (decoder.bufferedFrames < prebuffer && !decoder.finished) return new Int16Array(0);
      this.buffering = false;
    }
    const out = decoder.read(frames);
    if (this.options.live && out.length === 0 && !decoder.finished) this.buffering = true; // ran dry: gather some before playing on
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stopIdleTimer();
    this.response?.destroy();
    for (const d of this.decoders) d.close();
    this.decoders = [];
  }

  private async connect(): Promise<void> {
    this.retryTimer = null;
    if (this.closed) return;
    try {
      let url = this.options.authorize ? this.options.authorize(new URL(this.url)) : this.url;
      for (let depth = 0; ; depth++) {
        const { response, url: at } = await openHttp(url, {
          what: this.options.label,
          timeoutMs: this.options.connectTimeoutMs,
          headers: { 'Icy-MetaData': '1', 'User-Agent': 'nearcast' },
        });
        if (this.closed) {
          response.destroy();
          return;
        }
        const kind = playlistKind(response.headers['content-type'], at);
        if (!kind && !this.options.live && NOT_AUDIO.test(headerText(response.headers['content-type']))) {
          // a music server answers an error (a song gone, a bad login) in JSON or XML with HTTP 200
          throw new Error(`${this.options.label}: the server answered instead of sending audio: ${errorText(await readBounded(response, this.options.label, 16_384))}`);
        }
        if (!kind) {
          this.play(response);
          return;
        }
        const text = await readBounded(response, this.options.label);
        if (isHls(text)) {
          this.playHls(at);
          return;
        }
        const [first] = playlistEntries(kind, text, at);
        if (!first) throw new Error(`${this.options.label}: the playlist names no http(s) stream`);
        if (depth + 1 >= MAX_PLAYLIST_DEPTH) throw new Error(`${this.options.label}: playlists nested more than ${MAX_PLAYLIST_DEPTH} deep`);
        url = new URL(first);
      }
    } catch (e) {
      this.lost(e as Error);
    }
  }

  /** an audio response: ICY blocks out, the rest into a new decoder */
  private play(response: IncomingMessage): void {
    if (this.closed) {
      response.destroy();
      return;
    }
    // the content type names the container: ffmpeg then need not guess it from the first bytes, wherever the stream was joined
    const format = FORMAT_OF_TYPE[headerText(response.headers['content-type']).split(';')[0]?.toLowerCase() ?? ''];
    const decoder = this.newDecoder([...(format ? ['-f', format] : []), '-i', 'pipe:0']);
    this.response = response;
    this.station = headerText(response.headers['icy-name']) || this.options.label;
    const metaint = Number(response.headers['icy-metaint']);
    let body: NodeJS.ReadableStream = response;
    if (Number.isInteger(metaint) && metaint > 0) {
      const icy = new IcyDemuxer(metaint, (fields) => this.onIcy(fields));
      icy.on('error', (e) => this.streamFailed(e));
      body = response.pipe(icy);
    }
    body.pipe(decoder.stdin);
    this.startIdleTimer();
    response.on('data', () => {
      this.lastDataAt = monotonicMs();
    });
    response.on('error', (e) => this.streamFailed(e));
    response.on('aborted', () => this.streamFailed(new Error('the server closed the connection')));
    response.on('end', () => {
      if (this.response !== response) return;
      if (response.complete && !this.options.live) {
        this.bodyDone = true;
        this.stopIdleTimer();
        return;
      }
      this.streamFailed(new Error(response.complete ? 'the stream ended' : 'the server closed the connection'));
    });
    this.connectedAt = monotonicMs();
    this.emit('connected', { station: this.station, contentType: headerText(response.headers['content-type']) });
  }

  /** HLS: ffmpeg fetches the playlist and its segments itself */
  private playHls(url: URL): void {
    if (this.closed) return;
    this.newDecoder(['-i', url.href]);
    this.station = this.options.label;
    this.connectedAt = monotonicMs();
    this.emit('connected', { station: this.station, contentType: 'application/vnd.apple.mpegurl' });
  }

  private newDecoder(inputArgs: string[]): FfmpegDecoder {
    const decoder = new FfmpegDecoder({ inputArgs, what: this.options.label, ffmpegPath: this.options.ffmpegPath, format: this.options.format });
    this.decoders.push(decoder);
    this.buffering = true;
    // a live stream that ffmpeg cannot decode (or an HLS stream ending) counts as lost
    const watch = setInterval(() => {
      if (this.closed || !this.decoders.includes(decoder)) {
        clearInterval(watch);
        return;
      }
      if (decoder.error || (decoder.finished && this.options.live)) {
        clearInterval(watch);
        if (this.decoders.at(-1) === decoder) this.streamFailed(decoder.error ?? new Error('the stream ended'));
      }
    }, 250);
    watch.unref();
    return decoder;
  }

  private onIcy(fields: IcyFields): void {
    const text = fields.StreamTitle;
    if (text === undefined) return;
    const { artist, title } = splitStreamTitle(text);
    if (this.streamTitle && this.streamTitle.title === title && this.streamTitle.artist === artist) return;
    this.streamTitle = { title, artist, station: this.station };
    this.emit('title', this.streamTitle);
  }

  private streamFailed(e: Error): void {
    if (this.closed) return;
    const response = this.response;
    this.response = null;
    this.stopIdleTimer();
    response?.unpipe();
    response?.destroy();
    // what was received still gets decoded and played
    const last = this.decoders.at(-1);
    if (last && !last.stdin.writableEnded) last.stdin.end();
    this.lost(new Error(`${this.options.label}: ${describeNetworkError(e)}`));
  }

  private lost(e: Error): void {
    if (this.closed || this.retryTimer) return;
    if (!this.options.live) {
      this.pendingError ??= e;
      return;
    }
    if (this.connectedAt && monotonicMs() - this.connectedAt >= STABLE_MS) this.backoff = this.retryMs[0];
    this.connectedAt = 0;
    const retryInMs = this.backoff;
    this.backoff = Math.min(this.retryMs[1], this.backoff * 2);
    this.emit('lost', { message: e.message, retryInMs });
    this.retryTimer = setTimeout(() => void this.connect(), retryInMs);
  }

  /**
   * A stream that sends nothing while the decoder wants more has dropped without a word.
   * (A full decoder stops reading: then silence from the server is backpressure, not trouble.)
   */
  private startIdleTimer(): void {
    this.stopIdleTimer();
    const idleMs = this.options.idleTimeoutMs ?? 10_000;
    this.lastDataAt = monotonicMs();
    this.idleTimer = setInterval(
      () => {
        const decoder = this.decoders.at(-1);
        const hungry = !decoder || decoder.bufferedFrames < decoder.format.sampleRate;
        if (hungry && monotonicMs() - this.lastDataAt > idleMs) this.streamFailed(new Error(`no data for ${Math.round(idleMs / 1000)} s`));
      },
      Math.min(1000, idleMs / 4),
    );
    this.idleTimer.unref();
  }

  private stopIdleTimer(): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = null;
  }
}

function checkedUrl(text: string, label: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`${label}: not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`${label}: only http and https URLs are played, not ${url.protocol}`);
  return url;
}

/** the message of a Subsonic error body (JSON or XML), else the start of the text */
function errorText(body: string): string {
  const message = /"message"\s*:\s*"([^"]{1,200})"/.exec(body) ?? /message="([^"]{1,200})"/.exec(body);
  return message?.[1] ?? body.replace(/\s+/g, ' ').trim().slice(0, 120);
}

function headerText(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value)?.trim().slice(0, 200) ?? '';
}
