import { expect } from 'chai';
import { firstOf, groupOf, itemAt, lastOf } from '../../../../firmware/util/checked-index.ts';

describe('checked index reads', () => {
  it('returns the element when the index is inside the array or typed array', () => {
    expect(itemAt(['a', 'b', 'c'], 2)).to.equal('c');
    expect(itemAt(new Int16Array([5, -7]), 1)).to.equal(-7);
    expect(firstOf([3, 4])).to.equal(3);
    expect(lastOf([3, 4])).to.equal(4);
  });

  it('throws a RangeError naming what was read when the index is outside, negative or fractional', () => {
    expect(() => itemAt([1, 2], 2, 'chunks')).to.throw(RangeError, 'chunks: index 2 is outside 0..1');
    expect(() => itemAt([1, 2], -1, 'chunks')).to.throw(RangeError, 'chunks: index -1 is outside 0..1');
    expect(() => itemAt([1, 2], 0.5, 'chunks')).to.throw(RangeError, 'chunks: index 0.5 is outside 0..1');
    expect(() => firstOf([], 'listeners')).to.throw(RangeError, 'listeners: index 0 is outside 0..-1');
    expect(() => lastOf(new Float64Array(0), 'samples')).to.throw(RangeError, /^samples: index -1/);
  });

  it('keeps an element that is itself undefined (only the index is checked)', () => {
    expect(itemAt([undefined, 1], 0)).to.equal(undefined);
  });

  it('returns a filled capture group and throws when the group took no part in the match', () => {
    const m = /^(\w+)(?::(\d+))?$/.exec('box');
    if (!m) throw new Error('the pattern did not match "box"');
    expect(groupOf(m, 1)).to.equal('box');
    expect(() => groupOf(m, 2)).to.throw(RangeError, 'capture group 2 is empty in the match of "box"');
  });
});
