// ICY metadata (the Shoutcast/Icecast convention): a client that sends
// `Icy-MetaData: 1` gets a response header `icy-metaint: N` and, after every N bytes
// of audio, one length byte L followed by L·16 bytes of text such as
// `StreamTitle='Artist - Title';StreamUrl='';`, padded with NULs. IcyDemuxer takes
// those blocks out of the byte stream (what passes through is the audio alone, for
// the decoder) and reports each block's fields.

import { Transform, type TransformCallback } from 'node:stream';

export type IcyFields = Record<string, string>;

export class IcyDemuxer extends Transform {
  private audioLeft: number;
  private metaLength = -1; // bytes of the metadata block being read; -1: reading audio or the length byte
  private meta: Buffer[] = [];
  private metaRead = 0;

  constructor(
    private readonly metaint: number,
    private readonly onFields: (fields: IcyFields) => void,
  ) {
    super();
    if (!Number.isInteger(metaint) || metaint <= 0 || metaint > 1 << 20) throw new RangeError(`icy-metaint must be a positive integer ≤ 1 MiB, got ${metaint}`);
    this.audioLeft = metaint;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.metaLength >= 0) {
        const n = Math.min(this.metaLength - this.metaRead, chunk.length - at);
        this.meta.push(chunk.subarray(at, at + n));
        this.metaRead += n;
        at += n;
        if (this.metaRead === this.metaLength) this.endBlock();
      } else if (this.audioLeft > 0) {
        const n = Math.min(this.audioLeft, chunk.length - at);
        this.push(chunk.subarray(at, at + n));
        this.audioLeft -= n;
        at += n;
      } else {
        const length = (chunk[at] ?? 0) * 16;
        at++;
        if (length === 0)
          this.audioLeft = this.metaint; // no change since the last block
        else {
          this.metaLength = length;
          this.metaRead = 0;
          this.meta = [];
        }
      }
    }
    done();
  }

  private endBlock(): void {
    const text = decodeText(Buffer.concat(this.meta)).replace(/\0+$/, '');
    this.metaLength = -1;
    this.meta = [];
    this.audioLeft = this.metaint;
    const fields = parseIcyFields(text);
    if (Object.keys(fields).length > 0) this.onFields(fields);
  }
}

/** `StreamTitle='It''s a Title';StreamUrl='';` → fields; a quote inside a value is kept (stations rarely escape it). */
export function parseIcyFields(text: string): IcyFields {
  const fields: IcyFields = {};
  const field = /([A-Za-z][A-Za-z0-9_]*)='([\s\S]*?)';(?=[A-Za-z][A-Za-z0-9_]*='|\s*$)/g;
  for (let m = field.exec(text); m; m = field.exec(text)) fields[m[1] ?? ''] = m[2] ?? '';
  return fields;
}

/** UTF-8 when the bytes are valid UTF-8, else Latin-1 (what older stations send) */
function decodeText(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** "Artist - Title" (the usual StreamTitle form) → its parts; without " - " it is all title. */
export function splitStreamTitle(streamTitle: string): { artist: string; title: string } {
  const text = streamTitle.trim();
  const dash = text.indexOf(' - ');
  return dash > 0 ? { artist: text.slice(0, dash).trim(), title: text.slice(dash + 3).trim() } : { artist: '', title: text };
}
