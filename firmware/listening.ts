// Who may listen, and the stream they hear: the stream server with its one-time
// tokens, the share window, the admitted listeners, the listeners remembered across
// restarts and the joins waiting for the owner. The controller starts it once, after
// the engine and before the broker.

import type { AudioEngine } from './audio/engine.ts';
import type { BoxConfig } from './config/config.ts';
import { JoinManager } from './domain/join-manager.ts';
import { Listeners } from './domain/listener-directory.ts';
import { RememberedListeners } from './domain/remembered-listeners.ts';
import { ShareWindow } from './domain/share-window.ts';
import type { Refusals } from './security/refusals.ts';
import { StreamServer } from './stream/stream-server.ts';
import { StreamTokens } from './stream/stream-tokens.ts';
import type { Logger } from './util/log.ts';
import { DEFAULT_FORMAT, type CodecName } from './wire/format.ts';

/** how far ahead of playout a new listener's first chunk is sent */
const JOIN_LEAD_US = 30_000;

export interface ListeningOptions {
  config: BoxConfig;
  engine: AudioEngine;
  clock: () => number;
  refusals: Refusals;
  log: Logger;
  /** the codecs the stream offers */
  codecs: CodecName[];
  /** the ports the box listens on: the stream's is set here, and a listener's grant names it */
  ports: { stream: number };
  /** whether the MQTT connection with this serial is still open */
  isSerialOpen(serial: number): boolean;
  /** registers what a part needs done when the box stops */
  onStop(name: string, stop: () => Promise<void> | void): void;
}

export interface Listening {
  stream: StreamServer;
  shareWindow: ShareWindow;
  listeners: Listeners;
  /** listeners the owner let in under policy `button`, kept across restarts */
  remembered: RememberedListeners;
  joins: JoinManager;
}

/** Starts the stream server on its port, then builds who may listen. */
export async function startListening(o: ListeningOptions): Promise<Listening> {
  const { stream: config, limits, network } = o.config;
  const engine = o.engine;
  // one-time stream tokens: issued to a listener by a join, spent by its stream connection
  const tokens = new StreamTokens(config.tokenTtlSeconds * 1000);
  const stream = new StreamServer({
    fifo: engine.fifo,
    tokens,
    header: (codec) => engine.codecHeader(codec),
    clock: o.clock,
    joinLeadUs: JOIN_LEAD_US,
    encoding: engine,
    log: (m, e) => o.log.info(m, e),
    refusals: o.refusals,
    limits: { perAddress: limits.connectionsPerAddress, total: limits.connections, helloTimeoutMs: limits.helloTimeoutMs },
    // a token is good only while the MQTT connection that joined is open (the box's own callers have none)
    grantValid: (grant) => grant.serial === 0 || o.isSerialOpen(grant.serial),
  });
  engine.on('chunk', () => stream.pumpAll());
  o.ports.stream = await stream.listen(config.port, network.host);
  o.onStop('stream', () => stream.close());
  return { stream, ...sharing(o, tokens, stream) };
}

/** Who may listen: the share window, the listeners, the joins waiting for the owner. */
function sharing(o: ListeningOptions, tokens: StreamTokens, stream: StreamServer): Omit<Listening, 'stream'> {
  const { share, stream: config, limits } = o.config;
  const shareWindow = new ShareWindow(share.windowSeconds);
  const listeners = new Listeners({
    tokens,
    stream,
    defaultCodec: config.codec,
    availableCodecs: o.codecs,
    connectWithinMs: Math.min(config.tokenTtlSeconds, limits.unconnectedJoinSeconds) * 1000,
    onReleased: () => o.refusals.count('joins_released'),
    grantTemplate: () => ({ tcpPort: o.ports.stream, wsPath: '/stream', format: { ...DEFAULT_FORMAT }, chunkMs: config.chunkMs, latencyMs: config.latencyMs }),
  });
  const remembered = new RememberedListeners({ stateDir: o.config.stateDir, days: share.rememberDays, max: share.rememberMax, onProblem: (m) => o.log.warn(m) });
  const joins = new JoinManager(
    share.policy,
    shareWindow,
    () => ({ listeners: listeners.count(), max: share.maxListeners }),
    Date.now,
    limits.pendingJoinsPerAddress,
    (kind) => o.refusals.count(kind),
    remembered,
  );
  return { shareWindow, listeners, remembered, joins };
}
