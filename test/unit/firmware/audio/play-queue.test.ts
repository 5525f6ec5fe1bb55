import { expect } from 'chai';
import { PlayQueue, PlayQueueError } from '../../../../firmware/audio/play-queue.ts';

describe('PlayQueue', () => {
  it('plays enqueued tracks in order and stops at the end with repeat none', () => {
    const q = new PlayQueue({ repeat: 'none' });
    q.enqueue('a');
    q.enqueue('b');
    expect(q.current()).to.equal(null);
    expect(q.next()).to.equal('a');
    expect(q.next()).to.equal('b');
    expect(q.next()).to.equal(null);
    expect(q.current()).to.equal(null);
    expect(q.previous()).to.equal('b');
  });

  it('a track enqueued after the queue ran out plays next', () => {
    const q = new PlayQueue({ repeat: 'none' });
    q.enqueue('a');
    q.next();
    expect(q.next()).to.equal(null);
    q.enqueue('b');
    expect(q.next()).to.equal('b');
    expect(q.next()).to.equal(null);
  });

  it('starts over with repeat all', () => {
    const q = new PlayQueue({ repeat: 'all' });
    q.enqueue('a');
    q.enqueue('b');
    expect([q.next(), q.next(), q.next()]).to.deep.equal(['a', 'b', 'a']);
  });

  it('loops over the library when the queue is empty', () => {
    const q = new PlayQueue({ library: () => ['x', 'y'] });
    expect([q.next(), q.next(), q.next()]).to.deep.equal(['x', 'y', 'x']);
    expect(new PlayQueue({ library: () => [] }).next()).to.equal(null);
  });

  it('playNow inserts after the current track and jumps to it; the rest follows', () => {
    const q = new PlayQueue({ repeat: 'none' });
    q.enqueue('a');
    q.enqueue('b');
    q.next();
    expect(q.playNow('n')).to.equal('n');
    expect(q.list()).to.deep.equal({ items: ['a', 'n', 'b'], index: 1 });
    expect(q.next()).to.equal('b');
  });

  it('previous stays on the first track', () => {
    const q = new PlayQueue();
    q.enqueue('a');
    q.enqueue('b');
    q.next();
    q.next();
    expect(q.previous()).to.equal('a');
    expect(q.previous()).to.equal('a');
  });

  it('remove keeps the current track and clear empties it', () => {
    const q = new PlayQueue({ repeat: 'none' });
    for (const id of ['a', 'b', 'c']) q.enqueue(id);
    q.next();
    q.next(); // b
    expect(q.remove(0)).to.equal('a');
    expect(q.current()).to.equal('b');
    expect(() => q.remove(5)).to.throw(PlayQueueError, /no queue item at position 5/);
    q.clear();
    expect(q.list()).to.deep.equal({ items: [], index: -1 });
  });

  it('rejects bad ids and a full queue', () => {
    const q = new PlayQueue({ maxItems: 1 });
    expect(() => q.enqueue('')).to.throw(PlayQueueError, /non-empty string/);
    q.enqueue('a');
    expect(() => q.enqueue('b')).to.throw(PlayQueueError, /queue is full/);
  });

  it('survives a JSON round trip and rejects invalid saved state', () => {
    const q = new PlayQueue({ repeat: 'none' });
    q.enqueue('a');
    q.enqueue('b');
    q.next();
    const back = PlayQueue.fromJSON(JSON.parse(JSON.stringify(q)));
    expect(back.list()).to.deep.equal({ items: ['a', 'b'], index: 0 });
    expect(back.repeat).to.equal('none');
    expect(() => PlayQueue.fromJSON(null)).to.throw(/must be an object/);
    expect(() => PlayQueue.fromJSON({ version: 2, items: [], index: -1 })).to.throw(/unsupported version 2/);
    expect(() => PlayQueue.fromJSON({ version: 1, items: ['a', 7], index: 0 })).to.throw(/item 1 is not a valid track id/);
    expect(() => PlayQueue.fromJSON({ version: 1, items: ['a'], index: 1 })).to.throw(/index 1 out of range/);
    expect(() => PlayQueue.fromJSON({ version: 1, items: [], index: -1, repeat: 'one' })).to.throw(/repeat/);
  });
});
