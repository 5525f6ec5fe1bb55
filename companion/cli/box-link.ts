// One admitted session of `nearcast join`: the MQTT connection that joined and the
// audio stream its grant opened, feeding the player. It ends when either closes,
// or when the stream has been silent so long that the box must have gone away
// without closing it (a network drop), and says whether to join again.

import type { ClockSync } from '../../firmware/wire/clock.ts';
import type { ErrorFrame } from '../../firmware/wire/frames.ts';
import { monotonicUs } from '../../firmware/util/time.ts';
import type { BoxClient } from '../client/box-client.ts';
import { connectTcpStream, type TcpStream } from '../client/tcp-stream.ts';
import type { Player } from '../player/player.ts';
import { seconds, STREAM_SILENT_MS, worthRejoining } from './rejoin.ts';

export interface LinkEnd {
  reason: string;
  /** a box that restarted or a network that dropped: join again */
  rejoin: boolean;
}

export interface BoxLink {
  client: BoxClient;
  stream: TcpStream;
  /** resolves once the box sent the stream's codec header (the stream is accepted and plays) */
  ready: Promise<void>;
  ended: Promise<LinkEnd>;
  /** closes the stream (not the MQTT connection) */
  close(): void;
}

export interface LinkTarget {
  host: string;
  port: number;
  token: string;
  name?: string;
}

export async function openLink(client: BoxClient, target: LinkTarget, sync: ClockSync, player: Player): Promise<BoxLink> {
  let serverError: ErrorFrame | null = null;
  let protocolError = '';
  let codecHeaderSeen: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    codecHeaderSeen = resolve;
  });
  const stream = await connectTcpStream(target.host, target.port, target.token, target.name, sync, {
    onCodecHeader: (h) => {
      player.onCodecHeader(h);
      codecHeaderSeen();
    },
    onAudio: (f) => player.onAudio(f),
    onServerError: (e) => {
      serverError = e;
    },
    onProtocolError: (m) => {
      protocolError = m;
      stream.close();
    },
  });
  let watchdog: NodeJS.Timeout | null = null;
  const silent = new Promise<LinkEnd>((resolve) => {
    watchdog = setInterval(() => {
      const quietMs = (monotonicUs() - stream.lastReceiveUs()) / 1000;
      if (quietMs > STREAM_SILENT_MS) resolve({ reason: `nothing from the box for ${seconds(Math.round(quietMs / 100) * 100)}`, rejoin: true });
    }, 1000);
  });
  const closed = stream.closed.then((why): LinkEnd => {
    if (protocolError) return { reason: `stream protocol error: ${protocolError}`, rejoin: false };
    const err = serverError as ErrorFrame | null;
    if (err) return { reason: `the box closed the stream: ${err.reason}`, rejoin: worthRejoining(err) };
    return { reason: `stream ended: ${why}`, rejoin: true };
  });
  const lost = client.lost.then((why): LinkEnd => ({ reason: why, rejoin: true }));
  const ended = Promise.race([closed, lost, silent]).then((end) => {
    if (watchdog) clearInterval(watchdog);
    stream.close();
    return end;
  });
  return {
    client,
    stream,
    ready,
    ended,
    close: () => {
      if (watchdog) clearInterval(watchdog);
      stream.close();
    },
  };
}
