// The web companion: served by the box, it joins over MQTT (WebSocket /mqtt) and
// plays the stream (WebSocket /stream) through WebPlayer. Same wire contract as the
// CLI: topics, requests, frames and clock sync from firmware/wire.

import mqtt from 'mqtt';
import { StreamProtocol } from '../client/stream-protocol.ts';
import { ClockSync } from '../../firmware/wire/clock.ts';
import { boxTopics, type BoxTopics } from '../../firmware/wire/topics.ts';
import type { Reply } from '../../firmware/wire/requests.ts';
import { WebPlayer } from './web-player.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const clientId = `web-${Math.random().toString(36).slice(2, 10)}`;
const clock = () => performance.now() * 1000;

interface Grant {
  stream: { wsPath: string; token: string };
  codec: string;
}
interface BoxState {
  state?: string;
  track?: { id: string; title: string; artist: string; durationMs: number } | null;
  positionMs?: number;
  box?: { name: string };
  sharing?: { open: boolean };
}

let topics: BoxTopics | null = null;
// the box's id comes with its first retained message, a moment after the MQTT connection
let boxFound: () => void = () => undefined;
const found = new Promise<void>((resolve) => {
  boxFound = resolve;
});
let seq = 0;
const waiting = new Map<string, (r: Reply) => void>();
let player: WebPlayer | null = null;
let stream: { ws: WebSocket; protocol: StreamProtocol } | null = null;
let joined = false;
let wantJoined = false;
let state: BoxState = {};
let stateAt = 0;
let ctx: AudioContext | null = null;

function message(text: string, kind: 'info' | 'error' = 'info'): void {
  const m = $('message');
  m.textContent = text;
  m.className = kind;
}

// keepalive as the CLI's: the box frees the place of a page whose network vanished within 15 s
const client = mqtt.connect(`ws://${location.host}/mqtt`, { clientId, protocolVersion: 4, reconnectPeriod: 2000, connectTimeout: 5000, keepalive: 10 });
client.on('connect', () => {
  $('availability').className = 'online';
  client.subscribe(['nearcast/+/availability', 'nearcast/+/state']);
  if (topics) client.subscribe(topics.myResponses(clientId));
  if (wantJoined && !joined) void join(); // the box came back: rejoin
});
client.on('close', () => {
  $('availability').className = 'offline';
});
client.on('message', (topic, payload) => {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString());
  } catch {
    message(`the box sent something unreadable on ${topic}`, 'error');
    return;
  }
  const msg = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : null;
  const parts = topic.split('/');
  const boxId = parts[1];
  if (!topics && parts[0] === 'nearcast' && boxId && parts[2] !== 'client') {
    topics = boxTopics(boxId);
    client.subscribe(topics.myResponses(clientId));
    boxFound();
  }
  if (!topics || !topic.startsWith(topics.prefix)) return;
  if (topic === topics.availability) {
    const online = msg?.state === 'online';
    $('availability').className = online ? 'online' : 'offline';
    if (!online) {
      message('the box went away; waiting for it to come back', 'error');
      dropStream();
    }
  } else if (topic === topics.state && msg) {
    state = msg as BoxState;
    stateAt = performance.now();
    render();
  } else if (topic.includes('/response/')) {
    const w = msg && waiting.get(String(msg.transaction));
    if (!msg || !w) return;
    if (msg.status === 'pending') {
      message('waiting for the owner to approve (share button on the box)…');
      return;
    }
    waiting.delete(String(msg.transaction));
    w(msg as unknown as Reply);
  }
});

/** `Data`: what the reply to `op` carries (README "MQTT topics"); taken as the box sends it, not checked. */
function request<Data = unknown>(op: string, body: object = {}, timeoutMs = 10 * 60_000): Promise<Reply<Data>> {
  if (!topics) return Promise.reject(new Error('no box found yet'));
  const transaction = `${clientId}-${++seq}`;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      waiting.delete(transaction);
      reject(new Error(`no answer to ${op}`));
    }, timeoutMs);
    waiting.set(transaction, (r) => {
      clearTimeout(t);
      resolve(r as Reply<Data>);
    });
    client.publish(topics!.request(clientId, op), JSON.stringify({ ...body, transaction }));
  });
}

/** resumes the audio (phones want a user gesture for it, a background tab may have had it suspended); never hangs on it */
function resumeAudio(c: AudioContext): Promise<unknown> {
  return Promise.race([c.resume(), new Promise((r) => setTimeout(r, 2000))]);
}

// Rejoins come from two places after the box went away (the stream's close and MQTT's
// reconnect): the latest join wins, an earlier one still waiting gives up when it is answered,
// so the page never opens two streams (the first would be closed under whoever watches it).
let joinGeneration = 0;

async function join(): Promise<void> {
  const generation = ++joinGeneration;
  const superseded = () => generation !== joinGeneration;
  wantJoined = true;
  ctx ??= new AudioContext({ sampleRate: 48000, latencyHint: 'playback' });
  await resumeAudio(ctx); // the Join tap is the gesture
  if (!topics) {
    message('looking for the box…');
    await Promise.race([found, new Promise((r) => setTimeout(r, 10_000))]);
  }
  if (superseded()) return;
  message('joining…');
  const r = await request<Grant>('join', { name: ($('name') as HTMLInputElement).value || 'phone', codec: 'opus' }).catch(
    (e: Error) => ({ status: 'error', error: e.message }) as Reply<Grant>,
  );
  if (superseded()) return;
  if (r.status !== 'ok') {
    message(`join refused: ${r.error ?? 'no reason given'}`, 'error');
    wantJoined = false;
    render();
    return;
  }
  if (!r.data) {
    message('join refused: the box sent no stream grant', 'error');
    wantJoined = false;
    render();
    return;
  }
  openStream(r.data);
  joined = true;
  message('listening');
  render();
}

function openStream(g: Grant): void {
  dropStream();
  const sync = new ClockSync();
  player = new WebPlayer(ctx!, sync);
  player.setVolume(Number(($('volume') as HTMLInputElement).value));
  player.setLatencyOffsetMs(Number(($('offset') as HTMLInputElement).value) || 0);

  const ws = new WebSocket(`ws://${location.host}${g.stream.wsPath}`);
  ws.binaryType = 'arraybuffer';
  const p = player;
  const protocol = new StreamProtocol(
    (b) => ws.readyState === WebSocket.OPEN && ws.send(b),
    clock,
    {
      onCodecHeader: (h) => void p.onCodecHeader(h),
      onAudio: (f) => p.onAudio(f),
      onServerError: (e) => message(`the box closed the stream: ${e.reason}`, 'error'),
      onProtocolError: (m) => {
        message(`stream error: ${m}`, 'error');
        ws.close();
      },
    },
    sync,
  );
  ws.onopen = () => protocol.start(g.stream.token, ($('name') as HTMLInputElement).value || 'phone');
  let lastData = performance.now();
  ws.onmessage = (ev) => {
    lastData = performance.now();
    protocol.receive(new Uint8Array(ev.data as ArrayBuffer), clock());
  };
  // audio arrives every 20 ms: silence for 3 s is a lost network, not a quiet box
  // (a page that was itself stalled — a tab in the background — has data queued: not a loss)
  let lastTick = performance.now();
  const watchdog = setInterval(() => {
    if (stream?.ws !== ws) {
      clearInterval(watchdog);
      return;
    }
    const now = performance.now();
    if (now - lastTick > 1500) lastData = now;
    lastTick = now;
    if (now - lastData > 3000) {
      clearInterval(watchdog);
      message('no audio from the box for 3 s; reconnecting…', 'error');
      ws.close();
    }
  }, 500);
  ws.onclose = () => {
    if (stream?.ws !== ws) return;
    joined = false;
    render();
    if (wantJoined) {
      message('stream lost; rejoining…', 'error');
      setTimeout(() => void join(), 2000);
    }
  };
  stream = { ws, protocol };
  window.__nearcast = { player, sync, ctx: ctx!, protocol }; // for tests and curious users (page-globals.ts)
}

function dropStream(): void {
  const s = stream;
  stream = null;
  s?.protocol.stop();
  s?.ws.close();
  player?.close();
  player = null;
  joined = false;
}

async function leave(): Promise<void> {
  wantJoined = false;
  joinGeneration++; // a join still waiting for its answer is not wanted any more
  dropStream();
  await request('leave', {}, 5000).catch(() => undefined);
  message('left');
  render();
}

function render(): void {
  $('box').textContent = state.box?.name ?? 'nearcast';
  const t = state.track;
  $('title').textContent = t ? t.title : state.state === 'playing' ? 'live' : 'nothing playing';
  $('artist').textContent = t?.artist ?? '';
  const art = $('art') as HTMLImageElement;
  const artSrc = t ? `/art/${encodeURIComponent(t.id)}` : '';
  if (art.dataset.src !== artSrc) {
    art.dataset.src = artSrc;
    art.hidden = true;
    if (artSrc) art.src = artSrc;
  }
  const pos = (state.positionMs ?? 0) + (state.state === 'playing' ? performance.now() - stateAt : 0);
  ($('progress') as HTMLProgressElement).value = t?.durationMs ? Math.min(1, pos / t.durationMs) : 0;
  $('join').textContent = joined ? 'Leave' : 'Join';
  const s = player?.stats();
  $('sync').textContent = s
    ? `sync ${s.syncErrorMs.toFixed(1)} ms · buffer ${Math.round(s.bufferMs)} ms · underruns ${s.underruns} · ${s.path === 'webcodecs' ? 'WebCodecs' : s.path === 'wasm' ? 'WebAssembly' : 'PCM'}`
    : '';
}

let searchTimer: ReturnType<typeof setTimeout> | null = null;
async function search(q: string): Promise<void> {
  const list = $('results');
  if (!q.trim()) {
    list.replaceChildren();
    return;
  }
  const r = await request<{ results: Array<{ id: string; title: string; artist: string }> }>('search', { query: q, limit: 8 }, 5000).catch(() => null);
  if (r?.status !== 'ok') return;
  list.replaceChildren(
    ...(r.data?.results ?? []).map((t) => {
      const li = document.createElement('li');
      li.textContent = `${t.title} — ${t.artist}`;
      li.onclick = async () => {
        const p = await request('play', { id: t.id }, 5000).catch((e: Error) => ({ status: 'error', error: e.message }) as Reply);
        message(p.status === 'ok' ? `playing ${t.title}` : `cannot play it: ${p.error}`, p.status === 'ok' ? 'info' : 'error');
        void showQueue();
      };
      return li;
    }),
  );
}

async function showQueue(): Promise<void> {
  const r = await request<{ queue: Array<{ title: string }> }>('queue', {}, 5000).catch(() => null);
  if (r?.status !== 'ok') return;
  $('queue').replaceChildren(...(r.data?.queue ?? []).slice(0, 10).map((t) => Object.assign(document.createElement('li'), { textContent: t.title })));
}

($('art') as HTMLImageElement).onload = () => {
  $('art').hidden = false;
};
($('art') as HTMLImageElement).onerror = () => {
  $('art').hidden = true;
}; // no cover: none shown
$('join').onclick = () => void (joined ? leave() : join());
$('search').oninput = (e) => {
  if (searchTimer) clearTimeout(searchTimer);
  searchTimer = setTimeout(() => void search((e.target as HTMLInputElement).value), 250);
};
$('volume').oninput = (e) => player?.setVolume(Number((e.target as HTMLInputElement).value));
$('offset').onchange = (e) => player?.setLatencyOffsetMs(Number((e.target as HTMLInputElement).value) || 0);
let visibleAgain = 0;
document.addEventListener('visibilitychange', () => {
  // a tab in the background may have been throttled or frozen, its AudioContext suspended:
  // when visible again, resume the audio and re-anchor the schedule on the next chunk
  if (document.visibilityState !== 'visible' || !player) return;
  if (ctx && ctx.state !== 'running') void resumeAudio(ctx);
  player.resync();
  visibleAgain++;
});
setInterval(() => {
  render();
  const s = player?.stats();
  if (s && stream) stream.protocol.report({ syncErrorUs: Math.round(s.syncErrorMs * 1000), bufferMs: Math.round(s.bufferMs), underruns: s.underruns });
}, 1000);
window.__nearcastApp = { join, leave, request, joined: () => joined, visibleAgain: () => visibleAgain };
