// Worker thread that owns one ALSA playback PCM. Every libasound call here may block
// (snd_pcm_writei waits for room, drain waits for the queue to play), so none of them
// run on the main thread. Messages are handled one at a time in arrival order.

import { monotonicUs } from '../../firmware/util/time.ts';
import { serveRpc } from '../worker-rpc.ts';
import { EPIPE, ESTRPIPE, snd, SND_PCM_ACCESS_RW_INTERLEAVED, SND_PCM_FORMAT_S16_LE, SND_PCM_STREAM_PLAYBACK } from './libasound.ts';

export interface AlsaOpenRequest {
  name: string;
  rate: number;
  channels: number;
  latencyUs: number;
  softResample: boolean;
}
export interface AlsaWriteRequest {
  data: ArrayBuffer;
  frames: number;
}

export interface AlsaOpened {
  pcmType: number;
  bufferFrames: number;
  periodFrames: number;
}

export interface AlsaStatus {
  delayFrames: number;
  atUs: number;
  underruns: number;
}

/** What the playback worker does, for WorkerRpc (alsa-sink.ts) */
export type AlsaOperations = {
  open: { request: AlsaOpenRequest; result: AlsaOpened };
  write: { request: AlsaWriteRequest; result: AlsaStatus };
  status: { request: object; result: AlsaStatus };
  drain: { request: object; result: null };
  restart: { request: object; result: null };
  close: { request: object; result: null };
};

/**
 * snd_pcm_set_params leaves the start threshold at the full buffer: a player that
 * keeps less than that queued would never start. Start on the first frame instead;
 * the scheduler writes leading silence itself so the first sample is on time.
 */
function startOnFirstFrame(p: unknown): void {
  const out: unknown[] = [null];
  if ((snd.swMalloc(out) as number) < 0) return;
  const sw = out[0];
  try {
    if ((snd.swCurrent(p, sw) as number) < 0) return;
    if ((snd.swStartThreshold(p, sw, 1) as number) < 0) return;
    const rc = snd.swParams(p, sw) as number;
    if (rc < 0) fail('snd_pcm_sw_params (start threshold)', rc);
  } finally {
    snd.swFree(sw);
  }
}

let pcm: unknown = null;
let pcmName = '';
let bytesPerFrame = 4;
let underruns = 0;

function fail(call: string, err: number): never {
  throw new Error(`ALSA PCM '${pcmName}': ${call} failed: ${snd.strerror(err) as string} (${err})`);
}

function requirePcm(): unknown {
  if (pcm === null) throw new Error(`ALSA PCM '${pcmName}': not open`);
  return pcm;
}

/** Counts and recovers an xrun (-EPIPE) or suspend (-ESTRPIPE); rethrows anything else. */
function recoverOrFail(call: string, err: number): void {
  if (err === -EPIPE) underruns++;
  if (err !== -EPIPE && err !== -ESTRPIPE) fail(call, err);
  const rc = snd.recover(requirePcm(), err, 1) as number;
  if (rc < 0) fail(`snd_pcm_recover after ${call}`, rc);
}

function open(req: AlsaOpenRequest): AlsaOpened {
  if (pcm !== null) throw new Error(`ALSA PCM '${pcmName}': already open`);
  pcmName = req.name;
  bytesPerFrame = req.channels * 2;
  const out: unknown[] = [null];
  const rc = snd.open(out, req.name, SND_PCM_STREAM_PLAYBACK, 0) as number;
  if (rc < 0) fail('snd_pcm_open', rc);
  pcm = out[0];
  const sp = snd.setParams(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, req.channels, req.rate, req.softResample ? 1 : 0, req.latencyUs) as number;
  if (sp < 0) {
    snd.close(pcm);
    pcm = null;
    fail(`snd_pcm_set_params (S16_LE, ${req.channels} ch, ${req.rate} Hz, ${req.latencyUs} µs)`, sp);
  }
  startOnFirstFrame(pcm);
  const buf: number[] = [0];
  const per: number[] = [0];
  const gp = snd.getParams(pcm, buf, per) as number;
  if (gp < 0) fail('snd_pcm_get_params', gp);
  return { pcmType: snd.type(pcm) as number, bufferFrames: Number(buf[0]), periodFrames: Number(per[0]) };
}

function write(req: AlsaWriteRequest): AlsaStatus {
  const p = requirePcm();
  const bytes = Buffer.from(req.data);
  let done = 0;
  // Bounded: each round either writes frames or recovers; a device that keeps
  // failing to accept anything is reported instead of retried forever.
  for (let round = 0; done < req.frames; round++) {
    if (round > 1000) throw new Error(`ALSA PCM '${pcmName}': device stopped accepting frames`);
    const n = Number(snd.writei(p, bytes.subarray(done * bytesPerFrame), req.frames - done));
    if (n < 0) recoverOrFail('snd_pcm_writei', n);
    else done += n;
  }
  return status();
}

function status(): AlsaStatus {
  const p = requirePcm();
  const out: number[] = [0];
  let rc = snd.delay(p, out) as number;
  const atUs = monotonicUs();
  if (rc < 0) {
    recoverOrFail('snd_pcm_delay', rc);
    rc = 0;
    out[0] = 0;
  }
  return { delayFrames: Math.max(0, Number(out[0])), atUs, underruns };
}

/** Plays out what is queued, then leaves the PCM ready for more writes. */
function drain(): null {
  const p = requirePcm();
  const rc = snd.drain(p) as number;
  if (rc < 0 && rc !== -EPIPE) fail('snd_pcm_drain', rc);
  const pr = snd.prepare(p) as number;
  if (pr < 0) fail('snd_pcm_prepare', pr);
  return null;
}

/** Drops what is queued and prepares the PCM again: the next write starts it afresh. */
function restart(): null {
  const p = requirePcm();
  const rc = snd.drop(p) as number;
  if (rc < 0) fail('snd_pcm_drop', rc);
  const pr = snd.prepare(p) as number;
  if (pr < 0) fail('snd_pcm_prepare', pr);
  return null;
}

/** Stops at once (queued frames are dropped) and releases the device. */
function closePcm(): null {
  if (pcm === null) return null;
  const p = pcm;
  snd.drop(p);
  pcm = null;
  const rc = snd.close(p) as number;
  if (rc < 0) fail('snd_pcm_close', rc);
  return null;
}

serveRpc<AlsaOperations>({ open, write, status, drain, restart, close: closePcm });
