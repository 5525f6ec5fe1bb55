import { expect } from 'chai';
import { StreamTokens } from '../../../../firmware/stream/stream-tokens.ts';

describe('StreamTokens', () => {
  it('a token works once, for the client it was issued to', () => {
    const t = new StreamTokens(1000);
    const tok = t.issue('bob', 'opus');
    expect(tok).to.match(/^[A-Za-z0-9_-]{32}$/);
    expect(t.consume(tok)).to.deep.include({ clientId: 'bob', codec: 'opus' });
    expect(t.consume(tok)).to.equal(undefined);
    expect(t.consume('made-up')).to.equal(undefined);
  });

  it('expires, and a newer token replaces an older one', () => {
    let now = 0;
    const t = new StreamTokens(1000, () => now);
    const a = t.issue('bob', 'pcm');
    const b = t.issue('bob', 'pcm');
    expect(t.consume(a)).to.equal(undefined);
    now = 1001;
    expect(t.consume(b)).to.equal(undefined);
    const c = t.issue('eve', 'pcm');
    t.revoke('eve');
    expect(t.consume(c)).to.equal(undefined);
  });
});
