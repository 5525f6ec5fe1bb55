// Stream protocol v1: length-prefixed binary frames, identical over TCP and
// WebSocket. Browser-safe (Uint8Array/DataView only). Documented in ./PROTOCOL.md.

import type { CodecName } from './format.ts';

export const PROTOCOL_VERSION = 1;
export const MAX_FRAME_BYTES = 1 << 20; // body size limit; larger is a protocol error
const HEADER = 5; // u32 body length + u8 type

export enum FrameType {
  Hello = 1,
  CodecHeader = 2,
  Audio = 3,
  TimeRequest = 4,
  TimeReply = 5,
  Settings = 6,
  Error = 7,
  Keepalive = 8,
  /** listener → box: how its playout is doing, shown on the `listeners` topic */
  Report = 9,
}

export interface HelloFrame {
  type: FrameType.Hello;
  version: number;
  token: string;
  name?: string;
}
export interface CodecHeaderFrame {
  type: FrameType.CodecHeader;
  version: number;
  codec: CodecName;
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  chunkMs: number;
  /** frames the decoder output lags the source (Opus pre-skip); players shift playAt by it */
  codecDelayFrames: number;
  latencyMs: number;
}
export interface AudioFrame {
  type: FrameType.Audio;
  seq: number; // u32, wraps
  playAt: number; // server clock, µs, when the chunk's first sample must leave the DAC
  gap: boolean; // chunks were skipped before this one (listener moved to the live edge)
  payload: Uint8Array;
}
export interface TimeRequestFrame {
  type: FrameType.TimeRequest;
  t1: number;
}
export interface TimeReplyFrame {
  type: FrameType.TimeReply;
  t1: number;
  t2: number;
  t3: number;
}
export interface SettingsFrame {
  type: FrameType.Settings;
  latencyMs?: number;
  volume?: number;
  muted?: boolean;
}
export interface ErrorFrame {
  type: FrameType.Error;
  code: number;
  reason: string;
}
export interface KeepaliveFrame {
  type: FrameType.Keepalive;
}
export interface ReportFrame {
  type: FrameType.Report;
  /** smoothed error at the DAC (µs, + = late) */
  syncErrorUs: number;
  /** audio buffered ahead of the play head (ms) */
  bufferMs: number;
  underruns: number;
}

export type Frame = HelloFrame | CodecHeaderFrame | AudioFrame | TimeRequestFrame | TimeReplyFrame | SettingsFrame | ErrorFrame | KeepaliveFrame | ReportFrame;

/** Error codes carried by Error frames. */
export const ErrorCode = {
  BadFrame: 1,
  BadToken: 2,
  UnsupportedVersion: 3,
  Kicked: 4,
  ServerShutdown: 5,
  Timeout: 6,
  /** the port is full, or the address holds too many connections */
  Busy: 7,
} as const;

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function frame(type: FrameType, body: Uint8Array | number): { out: Uint8Array; view: DataView; off: number } {
  const len = typeof body === 'number' ? body : body.length;
  const out = new Uint8Array(HEADER + len);
  const view = new DataView(out.buffer);
  view.setUint32(0, len + 1);
  out[4] = type;
  if (typeof body !== 'number') out.set(body, HEADER);
  return { out, view, off: HEADER };
}

function jsonFrame(type: FrameType, obj: unknown): Uint8Array {
  return frame(type, enc.encode(JSON.stringify(obj))).out;
}

export function encodeFrame(f: Frame): Uint8Array {
  switch (f.type) {
    case FrameType.Hello:
      return jsonFrame(f.type, { version: f.version, token: f.token, name: f.name });
    case FrameType.CodecHeader: {
      const { type: _t, ...rest } = f;
      return jsonFrame(f.type, rest);
    }
    case FrameType.Settings:
    case FrameType.Report: {
      const { type: _t, ...rest } = f;
      return jsonFrame(f.type, rest);
    }
    case FrameType.Audio: {
      const { out, view, off } = frame(f.type, 13 + f.payload.length);
      view.setUint32(off, f.seq >>> 0);
      view.setBigInt64(off + 4, BigInt(Math.round(f.playAt)));
      out[off + 12] = f.gap ? 1 : 0;
      out.set(f.payload, off + 13);
      return out;
    }
    case FrameType.TimeRequest: {
      const { out, view, off } = frame(f.type, 8);
      view.setBigInt64(off, BigInt(Math.round(f.t1)));
      return out;
    }
    case FrameType.TimeReply: {
      const { out, view, off } = frame(f.type, 24);
      view.setBigInt64(off, BigInt(Math.round(f.t1)));
      view.setBigInt64(off + 8, BigInt(Math.round(f.t2)));
      view.setBigInt64(off + 16, BigInt(Math.round(f.t3)));
      return out;
    }
    case FrameType.Error: {
      const reason = enc.encode(f.reason);
      const { out, view, off } = frame(f.type, 2 + reason.length);
      view.setUint16(off, f.code);
      out.set(reason, off + 2);
      return out;
    }
    case FrameType.Keepalive:
      return frame(f.type, 0).out;
  }
}

function parseJson(body: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(body));
  } catch {
    throw new FrameError(`${what} frame: body is not valid UTF-8 JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FrameError(`${what} frame: body must be a JSON object`);
  return v as Record<string, unknown>;
}

function num(o: Record<string, unknown>, key: string, what: string, opt = false): number | undefined {
  const v = o[key];
  if (v === undefined && opt) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FrameError(`${what} frame: '${key}' must be a finite number`);
  return v;
}

function need(body: Uint8Array, n: number, what: string): DataView {
  if (body.length < n) throw new FrameError(`${what} frame: ${body.length} bytes, needs ${n}`);
  return new DataView(body.buffer, body.byteOffset, body.length);
}

const i64 = (v: DataView, o: number) => Number(v.getBigInt64(o));

/** Decodes one frame body (type byte + payload). Throws FrameError on anything malformed. */
export function decodeBody(type: number, body: Uint8Array): Frame {
  switch (type) {
    case FrameType.Hello: {
      const o = parseJson(body, 'hello');
      if (typeof o.token !== 'string' || o.token.length === 0 || o.token.length > 256) throw new FrameError("hello frame: 'token' must be a non-empty string");
      if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length > 64)) throw new FrameError("hello frame: 'name' must be a string of at most 64 characters");
      return { type, version: num(o, 'version', 'hello')!, token: o.token, name: o.name as string | undefined };
    }
    case FrameType.CodecHeader: {
      const o = parseJson(body, 'codec header');
      if (o.codec !== 'opus' && o.codec !== 'pcm') throw new FrameError(`codec header frame: unknown codec ${JSON.stringify(o.codec)}`);
      const h: CodecHeaderFrame = {
        type,
        codec: o.codec,
        version: num(o, 'version', 'codec header')!,
        sampleRate: num(o, 'sampleRate', 'codec header')!,
        channels: num(o, 'channels', 'codec header')!,
        bitsPerSample: num(o, 'bitsPerSample', 'codec header')!,
        chunkMs: num(o, 'chunkMs', 'codec header')!,
        codecDelayFrames: num(o, 'codecDelayFrames', 'codec header')!,
        latencyMs: num(o, 'latencyMs', 'codec header')!,
      };
      if (h.sampleRate < 8000 || h.sampleRate > 192000 || h.channels < 1 || h.channels > 8 || h.bitsPerSample !== 16 || h.chunkMs <= 0 || h.chunkMs > 1000)
        throw new FrameError('codec header frame: unsupported format');
      return h;
    }
    case FrameType.Audio: {
      const v = need(body, 13, 'audio');
      return { type, seq: v.getUint32(0), playAt: i64(v, 4), gap: (v.getUint8(12) & 1) === 1, payload: body.subarray(13) };
    }
    case FrameType.TimeRequest: {
      const v = need(body, 8, 'time request');
      return { type, t1: i64(v, 0) };
    }
    case FrameType.TimeReply: {
      const v = need(body, 24, 'time reply');
      return { type, t1: i64(v, 0), t2: i64(v, 8), t3: i64(v, 16) };
    }
    case FrameType.Settings: {
      const o = parseJson(body, 'settings');
      const s: SettingsFrame = { type };
      if (o.latencyMs !== undefined) s.latencyMs = num(o, 'latencyMs', 'settings');
      if (o.volume !== undefined) s.volume = num(o, 'volume', 'settings');
      if (o.muted !== undefined) {
        if (typeof o.muted !== 'boolean') throw new FrameError("settings frame: 'muted' must be a boolean");
        s.muted = o.muted;
      }
      return s;
    }
    case FrameType.Error: {
      const v = need(body, 2, 'error');
      let reason: string;
      try {
        reason = dec.decode(body.subarray(2));
      } catch {
        throw new FrameError('error frame: reason is not UTF-8');
      }
      return { type, code: v.getUint16(0), reason };
    }
    case FrameType.Keepalive:
      return { type };
    case FrameType.Report: {
      const o = parseJson(body, 'report');
      return { type, syncErrorUs: num(o, 'syncErrorUs', 'report')!, bufferMs: num(o, 'bufferMs', 'report')!, underruns: num(o, 'underruns', 'report')! };
    }
    default:
      throw new FrameError(`unknown frame type ${type}`);
  }
}

/**
 * Incremental decoder for a byte stream (TCP) or a sequence of messages
 * (WebSocket: push each message; a message may hold several frames).
 * After a FrameError the stream is out of step; the caller must close it.
 */
export class FrameDecoder {
  private buf: Uint8Array = new Uint8Array(0);
  private failed = false;

  /** `maxFrameBytes`: a receiver that expects only small frames refuses larger ones before buffering them */
  constructor(private maxFrameBytes = MAX_FRAME_BYTES) {}

  push(chunk: Uint8Array): Frame[] {
    if (this.failed) throw new FrameError('stream already failed');
    this.buf = this.buf.length ? concat(this.buf, chunk) : chunk;
    const frames: Frame[] = [];
    let off = 0;
    try {
      while (this.buf.length - off >= HEADER) {
        const len = new DataView(this.buf.buffer, this.buf.byteOffset + off, 4).getUint32(0);
        if (len < 1 || len > this.maxFrameBytes) throw new FrameError(`frame length ${len} outside 1..${this.maxFrameBytes}`);
        if (this.buf.length - off < 4 + len) break;
        const type = this.buf[off + 4]!; // the whole frame is there (checked above)
        // copy so the payload does not pin the whole receive buffer
        frames.push(decodeBody(type, this.buf.slice(off + HEADER, off + 4 + len)));
        off += 4 + len;
      }
    } catch (e) {
      this.failed = true;
      throw e;
    }
    this.buf = this.buf.subarray(off);
    return frames;
  }

  get buffered(): number {
    return this.buf.length;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
