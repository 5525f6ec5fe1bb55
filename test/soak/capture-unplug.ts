// The soak's "capture unplugged" fault. The box's live input is an ALSA capture of
// PulseAudio's `pulse` PCM, recording the monitor of a null sink on a private
// server (this machine has no sound card) that a tone is played into. Unplugging
// is unloading that sink: its monitor, the device the capture reads, vanishes from
// the server the way a USB card's source does when it is pulled out; plugging it
// back in is loading it again. The box must say so on `event/error`, retry, and
// report `event/capture` once the device is back, while its listeners keep their
// stream (hearing silence meanwhile).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { MqttClient } from 'mqtt';
import { startPulseNullSink, type PulseServer } from '../helpers/pulse-null-sink.ts';
import type { BoxProcess } from '../helpers/box-process.ts';
import { connected, mqttFrom } from './attackers.ts';

const SINK = 'nc_soak_in';
export const CAPTURE_SOURCE = 'capture:pulse';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CaptureRig {
  /** for the box: where the `pulse` PCM connects and which source it records; `capture:pulse` among the box's sources */
  env: NodeJS.ProcessEnv;
  unplug(): void;
  plugIn(): void;
  stop(): Promise<void>;
}

export interface UnplugResult {
  unplugs: number;
  /** `event/error` reports about the capture while it was unplugged */
  errors: number;
  /** unplugs after which the box reported the capture back */
  recovered: number;
  /** from plugging back in to `event/capture` ok, each */
  recoverMs: number[];
}

/** A private PulseAudio server with the null sink the box captures from, and a tone played into it. */
export async function startCaptureRig(): Promise<CaptureRig> {
  const pulse: PulseServer = await startPulseNullSink(SINK);
  const pactl = (...args: string[]) => spawnSync('pactl', args, { env: { ...process.env, PULSE_SERVER: pulse.server }, encoding: 'utf8' });
  let feeder: ChildProcess | null = null;
  const feed = () => {
    // 440 Hz at a quarter scale, s16le stereo: pacat takes it at the sink's pace
    const second = Buffer.alloc(48_000 * 4);
    for (let i = 0; i < 48_000; i++) {
      const v = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 48_000));
      second.writeInt16LE(v, i * 4);
      second.writeInt16LE(v, i * 4 + 2);
    }
    const p = spawn('pacat', ['--playback', `--device=${SINK}`, '--format=s16le', '--rate=48000', '--channels=2', '--raw', '--latency-msec=50'], {
      env: { ...process.env, PULSE_SERVER: pulse.server },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    p.stdin!.on('error', () => undefined); // its sink was unloaded under it
    const more = () => {
      while (p.exitCode === null && !p.stdin!.destroyed && p.stdin!.write(second));
    };
    p.stdin!.on('drain', more);
    more();
    feeder = p;
  };
  const stopFeeder = () => {
    feeder?.kill('SIGKILL');
    feeder = null;
  };
  const moduleIndex = () => {
    const line = pactl('list', 'short', 'modules')
      .stdout.split('\n')
      .find((l) => l.includes('module-null-sink') && l.includes(`sink_name=${SINK}`));
    return line?.split('\t')[0];
  };
  feed();
  return {
    env: { PULSE_SERVER: pulse.server, PULSE_SOURCE: `${SINK}.monitor`, NEARCAST_SOURCES: JSON.stringify([CAPTURE_SOURCE]) },
    unplug: () => {
      const index = moduleIndex();
      if (index === undefined) throw new Error(`capture rig: no null sink '${SINK}' to unplug`);
      const r = pactl('unload-module', index);
      if (r.status !== 0) throw new Error(`capture rig: pactl unload-module ${index} failed: ${r.stderr}`);
      stopFeeder();
    },
    plugIn: () => {
      const r = pactl('load-module', 'module-null-sink', `sink_name=${SINK}`, 'rate=48000', 'channels=2');
      if (r.status !== 0) throw new Error(`capture rig: pactl load-module failed: ${r.stderr}`);
      feed();
    },
    stop: async () => {
      stopFeeder();
      await pulse.stop();
    },
  };
}

interface BoxEvent {
  name: string;
  payload: Record<string, unknown>;
  at: number;
}

/** the owner on MQTT: switches the box's source, and sees its events */
async function ownerSession(box: BoxProcess, password: string) {
  const owner: MqttClient = mqttFrom(box.ports.mqtt, '127.0.0.1', { clientId: 'soak-capture-owner', username: 'owner', password });
  if (!(await connected(owner))) throw new Error('soak: the owner could not connect to switch the source');
  const prefix = `nearcast/${box.boxId}/`;
  const events: BoxEvent[] = [];
  const replies: Array<Record<string, unknown>> = [];
  owner.on('message', (topic, payload) => {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(payload.toString());
    } catch {
      return;
    }
    if (topic.startsWith(`${prefix}event/`)) events.push({ name: topic.slice(`${prefix}event/`.length), payload: json, at: Date.now() });
    else replies.push(json);
  });
  await owner.subscribeAsync([`${prefix}event/+`, `${prefix}client/soak-capture-owner/response/+`]);
  return {
    events,
    select: async (source: string) => {
      const n = replies.length;
      owner.publish(`${prefix}client/soak-capture-owner/request/source`, JSON.stringify({ source }));
      await waitUntil(`a reply to selecting ${source}`, () => replies.length > n, 10_000);
      if (replies[n]?.status !== 'ok') throw new Error(`soak: selecting ${source} failed: ${JSON.stringify(replies[n])}`);
    },
    captureOkSince: (t: number) => events.some((e) => e.name === 'capture' && e.at >= t && e.payload.source === CAPTURE_SOURCE && e.payload.state === 'ok'),
    close: () => owner.endAsync(),
  };
}

/**
 * Opens the capture once and goes back to the library. The first capture loads the
 * sound server's client libraries into the box (about 8 MB, once: later opens and
 * unplugs keep within a few MB of that); the soak takes its start figures after this, so that its
 * memory target measures what faults and attacks leave behind.
 */
export async function warmUpCapture(box: BoxProcess, ownerPassword: string): Promise<void> {
  const owner = await ownerSession(box, ownerPassword);
  try {
    const switched = Date.now();
    await owner.select(CAPTURE_SOURCE);
    await waitUntil('the box capturing', () => owner.captureOkSince(switched), 15_000);
    await owner.select('library');
  } finally {
    await owner.close();
  }
}

/**
 * The owner switches the box to the capture; then `unplugs` times: unplug, keep it
 * out for `outMs`, plug it back in, wait for the box to report the capture back and
 * let it play a moment; then back to the library.
 */
export async function unplugCapture(box: BoxProcess, rig: CaptureRig, ownerPassword: string, unplugs: number, outMs: number): Promise<UnplugResult> {
  const owner = await ownerSession(box, ownerPassword);
  const errorsBetween = (from: number, to: number) => owner.events.filter((e) => e.name === 'error' && e.at >= from && e.at <= to && e.payload.source === CAPTURE_SOURCE).length;
  const result: UnplugResult = { unplugs: 0, errors: 0, recovered: 0, recoverMs: [] };
  try {
    const switched = Date.now();
    await owner.select(CAPTURE_SOURCE);
    await waitUntil('the box capturing', () => owner.captureOkSince(switched), 15_000);
    await sleep(1000);
    for (let i = 0; i < unplugs; i++) {
      const out = Date.now();
      rig.unplug();
      result.unplugs++;
      await waitUntil('an event/error about the unplugged capture', () => errorsBetween(out, Date.now()) > 0, 15_000).catch(() => {});
      await sleep(outMs);
      const back = Date.now();
      rig.plugIn();
      result.errors += errorsBetween(out, back);
      // the capture retries with backoff (0.5 s doubling to 30 s): up to about twice the time it was out
      const recovered = await waitUntil('event/capture ok after plugging back in', () => owner.captureOkSince(back), 2 * outMs + 15_000).then(
        () => true,
        () => false,
      );
      if (recovered) {
        result.recovered++;
        result.recoverMs.push(owner.events.find((e) => e.name === 'capture' && e.at >= back)!.at - back);
      }
      await sleep(1500); // the listener hears the capture again
    }
    await owner.select('library');
  } finally {
    await owner.close();
  }
  return result;
}

async function waitUntil(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`soak: timed out waiting for ${what}`);
    await sleep(50);
  }
}
