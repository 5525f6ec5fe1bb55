// Worker thread that owns one ALSA capture PCM. snd_pcm_readi blocks until a
// period has been captured, so it runs here, one request at a time; the main
// thread asks for each read (and notices a read that never returns).

import { monotonicUs } from '../../firmware/util/time.ts';
import { serveRpc } from '../worker-rpc.ts';
import { EPIPE, ESTRPIPE, snd, SND_PCM_ACCESS_RW_INTERLEAVED, SND_PCM_FORMAT_FLOAT_LE, SND_PCM_FORMAT_S16_LE, SND_PCM_FORMAT_S32_LE, SND_PCM_STREAM_CAPTURE } from './libasound.ts';

export type CaptureSampleFormat = 's16' | 's32' | 'float';

export interface CaptureOpenRequest {
  name: string;
  rate: number;
  channels: number;
  latencyUs: number;
}
export interface CaptureReadRequest {
  frames: number;
}

export interface CaptureOpened {
  pcmType: number;
  rate: number;
  channels: number;
  format: CaptureSampleFormat;
  periodFrames: number;
}

export interface CaptureData {
  data: ArrayBuffer; // interleaved samples in `format`
  frames: number;
  atUs: number; // when the read returned
  /** frames the device had captured but not yet handed over at atUs (snd_pcm_delay); NaN when it cannot tell */
  delayFrames: number;
  overruns: number;
}

/** What the capture worker does, for WorkerRpc (alsa-capture.ts) */
export type CaptureOperations = {
  open: { request: CaptureOpenRequest; result: CaptureOpened };
  read: { request: CaptureReadRequest; result: CaptureData };
  close: { request: object; result: null };
};

const FORMATS: Array<[CaptureSampleFormat, number, number]> = [
  ['s16', SND_PCM_FORMAT_S16_LE, 2],
  ['s32', SND_PCM_FORMAT_S32_LE, 4],
  ['float', SND_PCM_FORMAT_FLOAT_LE, 4],
];
/** overruns recovered within one read before the device counts as failing */
const MAX_RECOVERIES = 100;
const RATES = [48000, 44100, 96000, 88200, 32000, 22050, 16000, 8000];

let pcm: unknown = null;
let pcmName = '';
let bytesPerFrame = 4;
let bufferFrames = 0; // the PCM's buffer: one snd_pcm_readi asks for no more (0: unknown)
let overruns = 0;

function fail(call: string, err: number): never {
  throw new Error(`ALSA capture '${pcmName}': ${call} failed: ${snd.strerror(err) as string} (${err})`);
}

/**
 * Asks for the stream format first (plug-type PCMs convert anything); a raw device
 * that refuses it gets the first format, channel count and rate it accepts, and the
 * source converts. Each attempt reopens: a refused snd_pcm_set_params leaves the
 * PCM half-configured.
 */
function open(req: CaptureOpenRequest): CaptureOpened {
  if (pcm !== null) throw new Error(`ALSA capture '${pcmName}': already open`);
  pcmName = req.name;
  const attempts: Array<[CaptureSampleFormat, number, number, number, number]> = [];
  for (const [name, code, bytes] of FORMATS) {
    for (const ch of [req.channels, req.channels === 2 ? 1 : 2]) {
      for (const rate of [req.rate, ...RATES.filter((r) => r !== req.rate)]) attempts.push([name, code, bytes, ch, rate]);
    }
  }
  let firstError = 0;
  for (const [name, code, bytes, ch, rate] of attempts) {
    const out: unknown[] = [null];
    const rc = snd.open(out, req.name, SND_PCM_STREAM_CAPTURE, 0) as number;
    if (rc < 0) fail('snd_pcm_open', rc); // missing or busy: no other format will help
    const p = out[0];
    const sp = snd.setParams(p, code, SND_PCM_ACCESS_RW_INTERLEAVED, ch, rate, 0, req.latencyUs) as number;
    if (sp < 0) {
      firstError ||= sp;
      snd.close(p);
      continue;
    }
    pcm = p;
    bytesPerFrame = bytes * ch;
    const buf: number[] = [0];
    const per: number[] = [0];
    if ((snd.getParams(p, buf, per) as number) < 0) {
      buf[0] = 0;
      per[0] = Math.round(rate / 100);
    }
    bufferFrames = Number(buf[0]);
    return { pcmType: snd.type(p) as number, rate, channels: ch, format: name, periodFrames: Number(per[0]) };
  }
  fail(`snd_pcm_set_params (no format, channel count or rate accepted; first tried S16_LE, ${req.channels} ch, ${req.rate} Hz)`, firstError);
}

function read(req: CaptureReadRequest): CaptureData {
  const p = pcm;
  if (p === null) throw new Error(`ALSA capture '${pcmName}': not open`);
  const buf = Buffer.alloc(req.frames * bytesPerFrame);
  let got = 0;
  // Bounded: a round that reads frames moves `got` on (however small the buffer that limits each read), one that
  // recovers an overrun counts against MAX_RECOVERIES; anything else is an error.
  for (let recoveries = 0; got < req.frames; ) {
    // never more than the buffer per call: the `file` plugin reads its infile only for reads within its buffer (the
    // rest of a larger read is the slave's silence, and the infile falls behind by it)
    const ask = bufferFrames > 0 ? Math.min(bufferFrames, req.frames - got) : req.frames - got;
    const n = Number(snd.readi(p, buf.subarray(got * bytesPerFrame), ask));
    if (n === 0) break; // a plugin at its end (file infile exhausted)
    if (n < 0) {
      if (n !== -EPIPE && n !== -ESTRPIPE) fail('snd_pcm_readi', n);
      if (++recoveries > MAX_RECOVERIES) throw new Error(`ALSA capture '${pcmName}': device keeps failing to deliver frames (${recoveries} overruns in one read)`);
      overruns++;
      const rc = snd.recover(p, n, 1) as number;
      if (rc < 0) fail('snd_pcm_recover after snd_pcm_readi', rc);
      continue;
    }
    got += n;
  }
  const data = buf.buffer.slice(buf.byteOffset, buf.byteOffset + got * bytesPerFrame);
  // the newest captured frame at this instant is (frames read so far + delay): the
  // source's capture clock is fitted to these readings (capture-source.ts)
  const delay: number[] = [0];
  const rc = snd.delay(p, delay) as number;
  return { data, frames: got, atUs: monotonicUs(), delayFrames: rc < 0 ? Number.NaN : Math.max(0, Number(delay[0])), overruns };
}

function closePcm(): null {
  if (pcm === null) return null;
  const p = pcm;
  pcm = null;
  snd.drop(p);
  const rc = snd.close(p) as number;
  if (rc < 0) fail('snd_pcm_close', rc);
  return null;
}

// the captured samples move to the main thread instead of being copied
serveRpc<CaptureOperations>({ open, read, close: closePcm }, (result) => (result && 'data' in result ? [result.data] : []));
