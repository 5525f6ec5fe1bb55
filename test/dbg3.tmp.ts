import { BoxClient } from '/work/main/companion/client/box-client.ts';
import { connectTcpStream } from '/work/main/companion/client/tcp-stream.ts';
import { ClockSync } from '/work/main/firmware/wire/clock.ts';
import { monotonicUs } from '/work/main/firmware/util/time.ts';
const port = Number(process.argv[2]);
const c = await BoxClient.connect({ url: `mqtt://127.0.0.1:${port}` });
const r: any = await c.request('join', { codec: 'pcm' });
const sync = new ClockSync();
let last = 0, n = 0, first = 0, firstLocal = 0;
const s = await connectTcpStream('127.0.0.1', r.data.stream.tcpPort, r.data.stream.token, 'dbg', sync, {
  onCodecHeader: () => {},
  onAudio: (f) => {
    if (last && f.playAt - last !== 20000) console.log('delta', f.playAt - last, 'seq', f.seq);
    last = f.playAt;
    if (!first) { first = f.playAt; firstLocal = monotonicUs(); }
    if (++n % 50 === 0) console.log('seq', f.seq, 'offset', sync.offsetAt(monotonicUs()).toFixed(1), 'drift', sync.drift.toFixed(1), 'arrival - playAt ms', ((monotonicUs() - f.playAt) / 1000).toFixed(1), 'n', sync.exchanges);
  },
});
setTimeout(() => { s.close(); c.close(); process.exit(0); }, 6000);
