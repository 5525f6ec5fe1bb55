import { BoxClient } from '/work/main/companion/client/box-client.ts';
import { connectTcpStream } from '/work/main/companion/client/tcp-stream.ts';
import { ClockSync } from '/work/main/firmware/wire/clock.ts';
import { monotonicUs } from '/work/main/firmware/util/time.ts';
import { Player } from '/work/main/companion/player/player.ts';
import { createDecoder } from '/work/main/firmware/audio/codecs/index.ts';
import { openSink } from '/work/main/hardware/audio/open-sink.ts';
import { makeFilePcmConfig } from '/work/main/test/helpers/alsa-file-pcm.ts';
const a = makeFilePcmConfig('/tmp/dbg4', ['nc_y']);
process.env.ALSA_CONFIG_PATH = a.configPath;
const port = Number(process.argv[2]);
const c = await BoxClient.connect({ url: `mqtt://127.0.0.1:${port}` });
const r: any = await c.request('join', { codec: 'pcm' });
const sync = new ClockSync();
const sink = openSink(process.argv[3] ?? 'nc_y', { sampleRate: 48000, channels: 2, bitsPerSample: 16 })!;
const player = new Player({ sink, clockSync: sync, now: monotonicUs, decoderFactory: (h) => createDecoder(h.codec, { sampleRate: 48000, channels: 2, bitsPerSample: 16 }) });
const s = await connectTcpStream('127.0.0.1', r.data.stream.tcpPort, r.data.stream.token, 'dbg', sync, {
  onCodecHeader: (h) => player.onCodecHeader(h), onAudio: (f) => player.onAudio(f),
});
await player.start();
const iv = setInterval(() => { const st = player.stats(); console.log(st.state, 'err', st.syncErrorUs.toFixed(0), 'drop', st.droppedFrames, 'ins', st.insertedFrames, 'dev', st.deviceDelayMs?.toFixed?.(1), 'buf', st.bufferedMs?.toFixed?.(1), 'offset', sync.offsetAt(monotonicUs()).toFixed(1)); }, 500);
setTimeout(async () => { clearInterval(iv); s.close(); await player.stop(); await c.close(); process.exit(0); }, 6000);
