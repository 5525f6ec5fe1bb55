// A PCM listener on a box's real stream port that keeps every chunk it receives by
// sequence number: what every player of the box is given, without a player's playout
// in between (for tests that measure the stream itself).

import { BoxClient } from '../../companion/client/box-client.ts';
import { connectTcpStream, type TcpStream } from '../../companion/client/tcp-stream.ts';
import { ClockSync } from '../../firmware/wire/clock.ts';

export interface StreamProbe {
  /** interleaved s16 samples of each chunk, by sequence number, in arrival order */
  chunks: Map<number, Int16Array>;
  close(): Promise<void>;
}

export async function probeStream(mqttPort: number, name = 'probe'): Promise<StreamProbe> {
  const client = await BoxClient.connect({ url: `mqtt://127.0.0.1:${mqttPort}` });
  const joined = await client.request<{ stream: { tcpPort: number; token: string } }>('join', { name, codec: 'pcm' }, { timeoutMs: 10_000 });
  if (joined.status !== 'ok' || !joined.data) {
    await client.close();
    throw new Error(`stream probe: the join was refused: ${JSON.stringify(joined)}`);
  }
  const chunks = new Map<number, Int16Array>();
  let stream: TcpStream;
  try {
    stream = await connectTcpStream('127.0.0.1', joined.data.stream.tcpPort, joined.data.stream.token, name, new ClockSync(), {
      onCodecHeader: () => {},
      onAudio: (frame) => {
        const bytes = frame.payload;
        chunks.set(frame.seq, new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.byteLength & ~1))));
      },
    });
  } catch (e) {
    await client.close();
    throw e;
  }
  return {
    chunks,
    close: async () => {
      stream.close();
      await client.close();
    },
  };
}
