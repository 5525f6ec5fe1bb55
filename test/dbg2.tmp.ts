import { makeFilePcmConfig } from '/work/main/test/helpers/alsa-file-pcm.ts';
import { AlsaSink } from '/work/main/hardware/audio/alsa-sink.ts';
import { monotonicUs } from '/work/main/firmware/util/time.ts';
const a = makeFilePcmConfig('/tmp/dbg2', ['nc_x']);
process.env.ALSA_CONFIG_PATH = a.configPath;
const sink = new AlsaSink('nc_x', { sampleRate: 48000, channels: 2, bitsPerSample: 16 });
await sink.open();
let written = 0; let t0 = 0;
for (let i = 0; i < 500; i++) {
  const st = await sink.write(new Int16Array(960));
  written += 480;
  const tNext = st.atUs + st.delayFrames / 48000 * 1e6;
  if (i === 0) t0 = tNext - 480 / 48000 * 1e6;
  const model = t0 + written / 48000 * 1e6;
  if (i % 50 === 0) console.log(i, 'delay', st.delayFrames, 'tNext - model (us)', (tNext - model).toFixed(1), 'clocked', sink.clocked);
  // keep ~60 ms queued like the scheduler
  const q = tNext - monotonicUs();
  if (q > 60000) await new Promise((r) => setTimeout(r, Math.ceil((q - 60000) / 1000)));
}
await sink.close();
