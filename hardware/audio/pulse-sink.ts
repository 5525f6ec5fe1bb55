// Playback into a PulseAudio (or pipewire-pulse) sink through libpulse itself: the
// sink behind the device name `pulse` wherever libpulse loads (open-sink.ts);
// `alsa:pulse` still reaches ALSA's plugin.
//
// Why: ALSA's `pulse` PCM reports libpulse's interpolation as its delay — a line
// from the stream's first timing answer at a rate that a filter pulls in over ~10 s,
// run on between answers that come every 1.5 s. A late answer (a busy machine) puts
// that line off by its wait and its rate hundreds of ppm off, and the sound drifts
// 1–2 ms from the report for seconds (README "Sync where the listener hears it").
// Here the stream asks the server for its timing every 20 ms (pa-client.ts) and keeps
// each answer raw: at the server's clock T the sink had taken `read_index` bytes of
// this stream, of which `sink_usec` were not yet out — so frames out by T =
// read_index / frame − sink_usec · rate (on pipewire-pulse less the quantum its graph
// took this cycle, which it counts as taken but not as in the sink: pipewire-quantum.ts).
// The delay reported at any instant is what was
// written less that, run on at the nominal rate from T — from the answers of the last
// 0.3 s (4 s on pipewire-pulse), the highest (TimingLine: a busy server stamps late, never early); the
// player's device model (firmware/util/device-clock.ts) fits its line to those readings.
//
// libpulse runs on the caller's event loop: a non-blocking pa_mainloop, pumped by
// write() and status().

import type { PcmFormat } from '../../firmware/wire/format.ts';
import { monotonicUs } from '../../firmware/util/time.ts';
import type { PcmSink, SinkStatus } from './pcm-sink.ts';
import { PA_NONE, PA_SAMPLE_S16LE, PA_STREAM_ADJUST_LATENCY } from './libpulse.ts';
import { PaClient, TimingLine } from './pa-client.ts';
import { PipewireQuantum } from './pipewire-quantum.ts';

/** a write that finds no room for this long means the server stopped taking audio */
const WRITE_TIMEOUT_US = 10e6;
/**
 * What a player keeps queued here: longer than the machine may leave it unscheduled. Beside a
 * second test suite on two cores companions went 90–195 ms without running (2026-12-04); with
 * 110–120 ms queued their streams ran dry for 4–70 ms and the sound moved by as much
 * (ARCHITECTURE.md "Playout"). The rest of the box's latency (400 ms by default) is the
 * player's jitter buffer; with less latency the queue holds what has arrived.
 */
const QUEUE_MS = 250;
/**
 * The stream's buffer attributes. With PA_STREAM_ADJUST_LATENCY the server asks the sink for
 * (tlength − 2·minreq)/2 of latency and keeps the rest of tlength in the stream's own buffer
 * (measured on a null sink: configured_sink_usec 50 ms for these). The queue must sit in the
 * stream's buffer, not in the sink: a sink asked to render further ahead than the stream holds
 * (230 ms for a 500 ms tlength and the default minreq) takes all of it at once, the server calls
 * the stream "not playing" and its counts jump by tens of ms. So a long minreq: a short sink
 * latency, 250 ms for the buffer (room is granted in 100 ms steps, more than a 10 ms write needs).
 */
const HEADROOM_MS = 50;
const MINREQ_MS = 100;
/** the server starts (and restarts after running dry) once this much is in */
const PREBUF_MS = 20;
const PA_SEEK_RELATIVE = 0;
/**
 * The TimingLine's span on pipewire-pulse. Answers come at every phase of the graph's cycle, but
 * those of one second can all miss its first ms: at quantum 1024 (21 ms a cycle) the envelope of
 * 1 s of answers sat 0.8 ms (p50) to 3.3 ms (max) after the cycles' start, and moved by as much as
 * its best answer left the span; 4 s of them: 0.07 and 0.56 ms (2026-12-05, 690 answers). Run on at
 * the nominal rate, an answer 4 s old is off by the device's rate error times 4 s (0.2 ms at 50 ppm).
 */
const PIPEWIRE_LINE_WINDOW_US = 4_000_000;
/**
 * On pipewire-pulse the report is settled once the quantum is known and the line spans this much:
 * a stream's first answers can all come late in the cycle (measured: the line moved 17 ms in its
 * first 0.4 s, at quantum 1024), and a sound started on them is that far off.
 */
const PIPEWIRE_SETTLED_SPAN_US = 1_500_000;
/** on pipewire-pulse, a stream stood when nothing was taken for this many cycles of the graph */
const STAND_CYCLES = 1.5;

export interface PulseSinkOptions {
  /** the sink (default: PULSE_SINK, else the server's default sink) */
  sink?: string;
  /** the server (default: PULSE_SERVER, else the usual discovery) */
  server?: string;
}

/** the server's latest timing answer */
interface Snapshot {
  /** frames the sink had taken from the stream */
  taken: number;
  /** the server was playing the stream (not waiting for its prebuffer) */
  playing: boolean;
  /** bytes handed to the sink since the stream last ran dry (libpulse's since_underrun) */
  sinceUnderrun: number;
  /** when the server answered, µs */
  atUs: number;
  /** the sink took nothing since the answer before (or this is the first), for longer than a cycle of PipeWire's graph */
  stood: boolean;
}

export class PulseSink implements PcmSink {
  readonly clocked = true;
  readonly interpolatedDelay = false;
  readonly preferredQueueMs = QUEUE_MS;
  private readonly frameBytes: number;
  private client: PaClient | null = null;
  private written = 0; // frames handed to the stream since it was created
  private snapshot: Snapshot | null = null;
  private played: TimingLine; // frames out of the sink, by the server's answers
  private readonly quantum = new PipewireQuantum(); // on pipewire-pulse: its graph's quantum, learnt from the answers
  private underruns = 0;
  private opening = false;
  private closedSince = false; // close() was called while open() waited for the server
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly format: PcmFormat,
    private readonly opts: PulseSinkOptions = {},
  ) {
    if (format.bitsPerSample !== 16) throw new Error(`PulseAudio sink '${name}': only 16-bit PCM is supported, got ${format.bitsPerSample}`);
    if (!(Number.isInteger(format.channels) && format.channels >= 1 && format.channels <= 32)) throw new Error(`PulseAudio sink '${name}': 1…32 channels, got ${format.channels}`);
    if (!(Number.isInteger(format.sampleRate) && format.sampleRate >= 8000 && format.sampleRate <= 192000)) {
      throw new Error(`PulseAudio sink '${name}': rate 8000…192000 Hz, got ${format.sampleRate}`);
    }
    this.frameBytes = 2 * format.channels;
    this.played = new TimingLine(format.sampleRate);
  }

  /** the server's own name once open ("pulseaudio", or "PulseAudio (on PipeWire x.y.z)"); '' before */
  get serverName(): string {
    return this.client?.serverName ?? '';
  }

  /** on pipewire-pulse: the quantum is known and the line spans PIPEWIRE_SETTLED_SPAN_US (elsewhere at once) */
  reportSettled(): boolean {
    if (!this.client?.onPipewire) return true;
    return this.quantum.frames > 0 && this.played.spanUs >= PIPEWIRE_SETTLED_SPAN_US;
  }

  async open(): Promise<void> {
    if (this.opening || this.client) throw new Error(`PulseAudio sink '${this.name}': already open`);
    this.opening = true;
    this.closedSince = false;
    try {
      const client = await PaClient.connect('nearcast', this.opts.server);
      if (this.closedSince) {
        client.close();
        throw new Error('closed while opening');
      }
      this.client = client;
      await this.connectStream();
    } catch (e) {
      await this.close();
      throw new Error(`PulseAudio sink '${this.name}': ${(e as Error).message}`);
    } finally {
      this.opening = false;
    }
  }

  /** Drops what is queued and starts a new stream. */
  restart(): Promise<void> {
    return this.serial(async () => {
      this.requireOpen();
      try {
        await this.connectStream();
      } catch (e) {
        throw new Error(`PulseAudio sink '${this.name}': ${(e as Error).message}`);
      }
    });
  }

  write(pcm: Int16Array): Promise<SinkStatus> {
    return this.serial(() => this.writeNow(pcm));
  }

  status(): Promise<SinkStatus> {
    return this.serial(async () => {
      this.requireOpen();
      this.pumpOrThrow();
      return this.statusNow();
    });
  }

  async close(): Promise<void> {
    this.closedSince = true;
    await this.tail.catch(() => undefined);
    this.client?.close();
    this.client = null;
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.tail.then(op);
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async writeNow(pcm: Int16Array): Promise<SinkStatus> {
    this.requireOpen();
    const ch = this.format.channels;
    if (pcm.length % ch !== 0) throw new Error(`PulseAudio sink '${this.name}': ${pcm.length} samples is not a whole number of ${ch}-channel frames`);
    const client = this.client!; // open
    const pa = client.pa;
    let done = 0; // samples
    const deadline = monotonicUs() + WRITE_TIMEOUT_US;
    while (done < pcm.length) {
      this.pumpOrThrow();
      const room = Number(pa.writableSize(client.stream));
      if (!(room >= 0 && room < 2 ** 40)) throw new Error(`PulseAudio sink '${this.name}': the stream failed (${client.error()})`);
      const frames = Math.min((pcm.length - done) / ch, Math.floor(room / this.frameBytes));
      if (frames > 0) {
        const part = pcm.slice(done, done + frames * ch); // libpulse copies it (no free callback)
        if (pa.write(client.stream, part, frames * this.frameBytes, null, 0, PA_SEEK_RELATIVE) < 0)
          throw new Error(`PulseAudio sink '${this.name}': writing failed (${client.error()})`);
        this.written += frames;
        done += frames * ch;
        continue;
      }
      if (monotonicUs() > deadline) throw new Error(`PulseAudio sink '${this.name}': the sound server took no audio for ${WRITE_TIMEOUT_US / 1e6} s`);
      // room comes back as the server plays: wait about one write's worth (10 ms blocks), at most 5 ms
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(5, Math.ceil(((pcm.length - done) / ch / this.format.sampleRate) * 1000)))));
    }
    this.pumpOrThrow();
    return this.statusNow();
  }

  /** what was written and is not out of the sink yet, now: the last raw timing answer run on at the nominal rate */
  private statusNow(): SinkStatus {
    const nowUs = monotonicUs();
    const s = this.snapshot;
    const ran = this.played.at(nowUs);
    if (!s || Number.isNaN(ran)) return { delayFrames: this.written, atUs: nowUs, underruns: this.underruns };
    // what the sink had taken plays out on its clock; more only while it takes more
    const played = s.playing && !s.stood ? ran : Math.min(ran, s.taken);
    return { delayFrames: Math.max(0, this.written - Math.min(played, this.written)), atUs: nowUs, underruns: this.underruns };
  }

  private async connectStream(): Promise<void> {
    const client = this.client!; // open
    const rate = this.format.sampleRate;
    const bytesOf = (ms: number) => Math.round((ms / 1000) * rate) * this.frameBytes;
    this.written = 0;
    this.snapshot = null;
    // on pipewire-pulse each answer is short of the line by the time since its cycle began (up to a
    // quantum): the envelope of a longer span holds answers from just after a cycle (pipewire-quantum.ts)
    this.played = new TimingLine(rate, client.onPipewire ? PIPEWIRE_LINE_WINDOW_US : undefined);
    const attr = { maxlength: PA_NONE, tlength: bytesOf(QUEUE_MS + HEADROOM_MS), prebuf: bytesOf(PREBUF_MS), minreq: bytesOf(MINREQ_MS), fragsize: PA_NONE };
    await client.openStream(
      'nearcast',
      { format: PA_SAMPLE_S16LE, rate, channels: this.format.channels },
      (stream) => client.pa.connectPlayback(stream, this.opts.sink ?? null, attr, PA_STREAM_ADJUST_LATENCY, null, null),
      'playback',
    );
  }

  private requireOpen(): void {
    if (!this.client?.stream) throw new Error(`PulseAudio sink '${this.name}': not open`);
  }

  private pumpOrThrow(): void {
    try {
      this.pump();
    } catch (e) {
      throw new Error(`PulseAudio sink '${this.name}': ${(e as Error).message}`);
    }
  }

  /** libpulse's pending work, a timing request when due, and its answer */
  private pump(): void {
    const client = this.client!; // open
    client.pump();
    const answer = client.timing();
    if (!answer || answer.info.read_index_corrupt || answer.info.write_index_corrupt) return;
    const { info: t, atUs } = answer;
    const playing = t.playing !== 0;
    const sinceUnderrun = Number(t.since_underrun);
    // it ran dry: it waits for its prebuffer again, or — playing in both answers — its bytes played since
    // it last ran dry went down (a dry spell between the two). libpulse counts the bytes since it ran dry
    // while it is dry, so a stream that plays again after one is not compared with that
    const last = this.snapshot;
    const ranDry = last !== null && ((last.playing && !playing) || (last.playing && playing && sinceUnderrun < last.sinceUnderrun));
    if (ranDry) this.underruns++;
    const taken = Number(t.read_index) / this.frameBytes;
    // pipewire-pulse counts the quantum its graph took this cycle as taken, not as in the sink (pipewire-quantum.ts)
    // (fed only there: elsewhere it stays 0)
    const inGraphBefore = this.quantum.frames;
    if (client.onPipewire && last?.playing && playing && !ranDry) this.quantum.add(taken - last.taken);
    const inGraph = this.quantum.frames;
    // the count starts afresh when it ran dry, or moves again after it stood (nothing taken between two
    // answers: the stream waited for its prebuffer, or ran dry unseen), and answers counted with another
    // quantum are off by the difference: answers from before say nothing
    if (ranDry || (last?.stood && taken > last.taken) || inGraph !== inGraphBefore) this.played.reset();
    // a stream the server is not playing (dry, or waiting for its prebuffer) has nothing in the sink:
    // all it took is out, whatever the sink's own latency
    this.played.add(atUs, playing ? Math.max(0, taken - inGraph - (Number(t.sink_usec) * this.format.sampleRate) / 1e6) : taken);
    // on pipewire-pulse nothing is taken between two answers within one cycle of its graph (at 1024 frames,
    // 21 ms, two answers 20 ms apart are often so): that is no stand, and taken for one it reset the line
    // about twice a second, each time back to one answer's phase (the device line stepped ~50 times in 30 s)
    const cycleUs = (inGraph * 1e6) / this.format.sampleRate;
    const stood = !last || (taken === last.taken && atUs - last.atUs > STAND_CYCLES * cycleUs);
    this.snapshot = { taken, playing, sinceUnderrun, atUs, stood };
  }
}
