// What answers on HOST:PORT? Used to turn "the MQTT connection failed" into an
// error that names the mistake (the box's HTTP or stream port given as --box), and
// to find a box on this machine when no --box is given. It speaks first with an
// MQTT CONNECT: a broker answers CONNACK, an HTTP server "HTTP/1.1 400", and the
// box's stream server an error frame (its first frame must be a hello).

import net from 'node:net';
import { FrameDecoder, FrameType } from '../../firmware/wire/frames.ts';

export type PortKind = 'mqtt' | 'http' | 'stream' | 'other' | 'silent' | 'refused' | 'unreachable';

export interface ProbeResult {
  kind: PortKind;
  /** the network error, for 'refused'/'unreachable' */
  error?: string;
}

/** An MQTT 3.1.1 CONNECT with a clean session and a throwaway client id. */
function connectPacket(): Buffer {
  const id = Buffer.from(`nc-probe-${process.pid}`);
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x0a]);
  const idLen = Buffer.from([id.length >> 8, id.length & 0xff]);
  const remaining = variable.length + idLen.length + id.length; // < 128: one length byte
  return Buffer.concat([Buffer.from([0x10, remaining]), variable, idLen, id]);
}

/** Classifies a server's first bytes. */
export function classifyReply(bytes: Buffer): PortKind {
  if (bytes.length === 0) return 'silent';
  if (bytes[0] === 0x20) return 'mqtt';
  if (bytes.subarray(0, 5).toString('latin1') === 'HTTP/') return 'http';
  try {
    const frames = new FrameDecoder().push(new Uint8Array(bytes));
    if (frames.some((f) => f.type === FrameType.Error)) return 'stream';
  } catch {
    /* not our frames */
  }
  return 'other';
}

export function probePort(host: string, port: number, timeoutMs = 1500): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let got = Buffer.alloc(0);
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ kind: got.length ? classifyReply(got) : 'silent' }), timeoutMs);
    socket.on('connect', () => socket.write(connectPacket()));
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const kind = classifyReply(got);
      // an HTTP status line or a whole frame is enough; wait for more only for a partial frame
      if (kind !== 'other' || got.length > 64) finish({ kind });
    });
    socket.on('end', () => finish({ kind: classifyReply(got) }));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (got.length) return finish({ kind: classifyReply(got) });
      finish({ kind: e.code === 'ECONNREFUSED' ? 'refused' : 'unreachable', error: e.message });
    });
  });
}

/** The sentence for a --box that is not the box's MQTT port, or null when it is. */
export function explainProbe(host: string, port: number, r: ProbeResult): string | null {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const mqttHint = 'the MQTT port is 1883 unless the box was started with --mqtt-port';
  switch (r.kind) {
    case 'mqtt':
      return null;
    case 'http':
      return `${where} is the box's HTTP port (the web companion: open http://${where}/ in a browser); ${mqttHint}`;
    case 'stream':
      return `${where} is the box's audio stream port; ${mqttHint}`;
    case 'refused':
      return `nothing listens on ${where} (is the box running? \`make run\` starts one on 127.0.0.1)`;
    case 'unreachable':
      return `cannot reach ${where}: ${r.error}`;
    case 'silent':
      return `${where} accepts connections but does not answer as an MQTT broker; ${mqttHint}`;
    case 'other':
      return `${where} is not an MQTT broker (it answered something else); ${mqttHint}`;
  }
}
