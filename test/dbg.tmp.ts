import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeFilePcmConfig } from '/work/main/test/helpers/alsa-file-pcm.ts';
import { exactAlign, ffmpegDecode, firstSound, readRaw } from '/work/main/test/helpers/audio-compare.ts';
import { runCompanion, startBox } from '/work/main/test/helpers/box-process.ts';
import { makeTestMusic } from '/work/main/test/helpers/test-music.ts';
import { hashPassword } from '/work/main/firmware/config/password.ts';
const dir = mkdtempSync(path.join(os.tmpdir(), 'dbg-'));
const tracks = makeTestMusic(path.join(dir, 'music'), 30);
const ref = ffmpegDecode(tracks[0].file);
const box = await startBox(['--music', path.join(dir, 'music'), '--box-id', 'd', '--policy', 'open', '--audio-device', 'none', '--state-dir', path.join(dir, 's')], { NEARCAST_OWNER__PASSWORDHASH: hashPassword('x') });
const p = runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, '--user', 'owner', '--password', 'x', 'play', 'Moon River']);
await p.exited;
const alsa = makeFilePcmConfig(path.join(dir, 'a'), ['nc_a', 'nc_b', 'nc_c']);
const cs = [];
for (const n of ['nc_a', 'nc_b', 'nc_c']) { cs.push(runCompanion(['--box', `127.0.0.1:${box.ports.mqtt}`, 'join', '--device', n, '--codec', process.argv[2] ?? 'pcm', '--json'], alsa.env)); await new Promise((r) => setTimeout(r, 300)); }
const c = cs[0];
await new Promise((r) => setTimeout(r, 5000));
for (const x of cs) await x.interrupt();
await box.stop();
console.log(c.status().slice(-2), c.stderr);
for (const name of ['nc_a','nc_b','nc_c']) {
const out = readRaw(alsa.outputs[name]);
let start = firstSound(out);
console.log('out frames', out.length / 2, 'first sound', start / 2);
for (let seg = 0; seg < 12 && start >= 0 && start < out.length; seg++) {
  const at = exactAlign(ref, out, start, 64);
  if (at < 0) { console.log('no align at', start / 2, 'values', Array.from(out.subarray(start, start + 8))); start += 9600; continue; }
  let k = 0;
  while (start + k < out.length && at + k < ref.length && out[start + k] === ref[at + k]) k++;
  console.log(`out ${start / 2} ↔ ref ${at / 2} (lag ${(start - at) / 2}), matches ${k / 2} frames`);
  start += k + 2;
  start = start + (start % 2);
}
}
console.log(box.logs.filter(l => /underrun|warn|error/i.test(l)).slice(0,10));
