import { expect } from 'chai';
import { IcyDemuxer, parseIcyFields, splitStreamTitle, type IcyFields } from '../../../../../firmware/audio/sources/icy.ts';

/** audio bytes with an ICY block after every `metaint` of them */
function icyStream(audio: Buffer, metaint: number, blocks: string[]): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0, n = 0; at < audio.length; at += metaint, n++) {
    parts.push(audio.subarray(at, at + metaint));
    if (at + metaint > audio.length) break; // a block follows only a whole stretch of audio
    const text = Buffer.from(blocks[n] ?? '', 'utf8');
    const length = Math.ceil(text.length / 16);
    const block = Buffer.alloc(1 + length * 16);
    block[0] = length;
    text.copy(block, 1);
    parts.push(block);
  }
  return Buffer.concat(parts);
}

async function demux(stream: Buffer, metaint: number, pieceSize: number): Promise<{ audio: Buffer; fields: IcyFields[] }> {
  const fields: IcyFields[] = [];
  const demuxer = new IcyDemuxer(metaint, (f) => fields.push(f));
  const out: Buffer[] = [];
  demuxer.on('data', (b: Buffer) => out.push(b));
  for (let at = 0; at < stream.length; at += pieceSize) demuxer.write(stream.subarray(at, at + pieceSize));
  await new Promise<void>((resolve) => demuxer.end(resolve));
  return { audio: Buffer.concat(out), fields };
}

describe('ICY metadata', () => {
  const audio = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

  for (const pieceSize of [1, 7, 100, 5000]) {
    it(`takes the metadata blocks out of the stream, whatever the read sizes (${pieceSize})`, async () => {
      const stream = icyStream(audio, 300, ["StreamTitle='Ann - First Song';StreamUrl='';", '', "StreamTitle='Bob - Süße Lieder';"]);
      const { audio: got, fields } = await demux(stream, 300, pieceSize);
      expect(got.equals(audio), 'the audio passes through byte for byte').to.equal(true);
      expect(fields).to.deep.equal([{ StreamTitle: 'Ann - First Song', StreamUrl: '' }, { StreamTitle: 'Bob - Süße Lieder' }]);
    });
  }

  it('reads Latin-1 when the block is not UTF-8', async () => {
    const block = Buffer.alloc(33);
    block[0] = 2;
    Buffer.from("StreamTitle='Gr\u00fc\u00dfe';", 'latin1').copy(block, 1);
    const { fields } = await demux(Buffer.concat([audio.subarray(0, 10), block, audio.subarray(10, 15)]), 10, 8);
    expect(fields).to.deep.equal([{ StreamTitle: 'Grüße' }]);
  });

  it('keeps quotes inside a title', () => {
    expect(parseIcyFields("StreamTitle='Rock 'n' Roll';StreamUrl='http://x/';")).to.deep.equal({ StreamTitle: "Rock 'n' Roll", StreamUrl: 'http://x/' });
  });

  it('splits "Artist - Title"; without a dash it is all title', () => {
    expect(splitStreamTitle(' Ann - First - Song ')).to.deep.equal({ artist: 'Ann', title: 'First - Song' });
    expect(splitStreamTitle('News at nine')).to.deep.equal({ artist: '', title: 'News at nine' });
  });

  it('rejects an impossible icy-metaint', () => {
    expect(() => new IcyDemuxer(0, () => {})).to.throw(RangeError, /icy-metaint/);
    expect(() => new IcyDemuxer(Number.NaN, () => {})).to.throw(RangeError, /icy-metaint/);
  });
});
