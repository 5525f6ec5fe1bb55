// The box's web side: the web companion's page and its script (the browser build of
// companion/web: prebuilt by firmware/build.ts for the box's bundle; from the
// sources, bundled by esbuild on first request and kept in memory), and the
// audio stream over WebSocket at /stream (MQTT over WebSocket is at /mqtt).

import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import type { StreamServer } from '../stream/stream-server.ts';
import { wsTransport } from '../stream/ws-transport.ts';
import { CoverArtCache, type CoverArt } from './cover-art.ts';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../companion/web');
/** set by firmware/build.ts in the box's bundle: where the prebuilt page script is, relative to the bundle */
declare const PREBUILT_WEB_APP: string | undefined;
const PREBUILT = typeof PREBUILT_WEB_APP === 'string' ? path.resolve(path.dirname(fileURLToPath(import.meta.url)), PREBUILT_WEB_APP) : null;

export class WebServer {
  private bundle: Promise<string> | null = null;
  private wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

  private readonly covers = new CoverArtCache();

  constructor(
    private readonly options: {
      stream: StreamServer;
      clock: () => number;
      log: (msg: string, extra?: object) => void;
      dir?: string;
      /** the library file of a track id (for its cover art) */
      trackPath?: (id: string) => string | undefined;
      /** the cover of a track that is not a file on the box (a music server's song) */
      remoteCover?: (id: string) => Promise<CoverArt | null>;
    },
  ) {}

  private get dir(): string {
    return this.options.dir ?? WEB_DIR;
  }

  attach(server: http.Server): void {
    server.on('request', (req, res) => void this.handle(req, res));
    server.on('upgrade', (req, socket, head) => {
      const p = (req.url ?? '').split('?')[0];
      if (p === '/mqtt') return; // the broker's
      if (p !== '/stream') {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.options.stream.accept(wsTransport(ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`, this.options.clock));
      });
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const p = (req.url ?? '/').split('?')[0]!; // split() returns at least one piece
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'GET only\n');
      if (p === '/' || p === '/index.html') return send(res, 200, 'text/html; charset=utf-8', await readFile(path.join(this.dir, 'index.html')));
      if (p === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', await this.script());
      if (p.startsWith('/art/')) {
        const id = decodeURIComponent(p.slice(5));
        const file = this.options.trackPath?.(id);
        const art = file ? await this.covers.get(file) : ((await this.options.remoteCover?.(id)) ?? null);
        return art ? send(res, 200, art.type, Buffer.from(art.data)) : send(res, 404, 'text/plain', 'no cover art\n');
      }
      return send(res, 404, 'text/plain', 'nearcast: nothing here\n');
    } catch (e) {
      this.options.log('web request failed', { path: p, error: (e as Error).message });
      send(res, 500, 'text/plain', `nearcast: ${(e as Error).message}\n`);
    }
  }

  /** the companion's script: prebuilt when the box runs as its bundle (no esbuild on a device); else built once, in memory */
  private script(): Promise<string> {
    if (PREBUILT && !this.options.dir) return readFile(PREBUILT, 'utf8');
    this.bundle ??= import('esbuild').then(async ({ build }) => {
      const r = await build({
        entryPoints: [path.join(this.dir, 'app.ts')],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2020',
        write: false,
        minify: true,
        logLevel: 'silent',
      });
      const script = r.outputFiles[0];
      if (!script) throw new Error('esbuild produced no page script');
      return script.text;
    });
    this.bundle.catch(() => {
      this.bundle = null;
    });
    return this.bundle;
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache' });
  res.end(body);
}
