import { expect } from 'chai';
import { OutputMap } from '../../../../companion/player/output-map.ts';

describe('OutputMap', () => {
  it('maps device frames to source frames across silence, a dropped and a repeated frame', () => {
    const m = new OutputMap();
    m.silence(10); // device 0..9
    m.block([{ pos: 0, n: 5 }], [{ pos: 0, n: 5, source: 1000 }]); // device 10..14 ← 1000..1004
    // drop: read 6 (1005..1010), output skips read position 3
    m.block(
      [
        { pos: 0, n: 3 },
        { pos: 4, n: 2 },
      ],
      [{ pos: 0, n: 6, source: 1005 }],
    ); // 15..19 ← 1005,1006,1007,1009,1010
    // repeat: read 4 (1011..1014), read position 1 written twice
    m.block(
      [
        { pos: 0, n: 2 },
        { pos: 1, n: 1 },
        { pos: 2, n: 2 },
      ],
      [{ pos: 0, n: 4, source: 1011 }],
    ); // 20..24 ← 1011,1012,1012,1013,1014
    expect(m.framesWritten).to.equal(25);
    expect(Number.isNaN(m.sourceOf(3))).to.equal(true);
    expect([10, 14, 15, 17, 18, 19, 20, 21, 22, 24].map((d) => m.sourceOf(d))).to.deep.equal([1000, 1004, 1005, 1007, 1009, 1010, 1011, 1012, 1012, 1014]);
    expect(m.deviceFrameOf(1009)).to.equal(18);
    expect(Number.isNaN(m.deviceFrameOf(1008)), 'the dropped frame never played').to.equal(true);
    expect(m.deviceFrameOf(1012)).to.equal(22); // the latest device frame that carried it
    expect(Number.isNaN(m.sourceOf(25))).to.equal(true);
  });

  it('holes inside a read are silence; contiguous blocks merge into one run', () => {
    const m = new OutputMap();
    m.block(
      [{ pos: 0, n: 8 }],
      [
        { pos: 0, n: 4, source: 0 },
        { pos: 4, n: 2, source: NaN },
        { pos: 6, n: 2, source: 10 },
      ],
    );
    m.block([{ pos: 0, n: 4 }], [{ pos: 0, n: 4, source: 12 }]);
    expect([0, 3, 4, 5, 6, 7, 8, 11].map((d) => m.sourceOf(d))).to.deep.equal([0, 3, NaN, NaN, 10, 11, 12, 15]);
  });

  it('forgets the oldest runs beyond its bound', () => {
    const m = new OutputMap(4);
    for (let i = 0; i < 10; i++) m.block([{ pos: 0, n: 1 }], [{ pos: 0, n: 1, source: i * 10 }]);
    expect(Number.isNaN(m.deviceFrameOf(0))).to.equal(true);
    expect(m.deviceFrameOf(90)).to.equal(9);
    expect(Number.isNaN(m.sourceOf(0))).to.equal(true);
    expect(m.sourceOf(9)).to.equal(90);
  });
});
