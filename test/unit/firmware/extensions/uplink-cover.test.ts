import { expect } from 'chai';
import { MAX_COVER_BYTES, NowPlayingCover } from '../../../../firmware/extensions/uplink-cover.ts';
import { type CoverArt, NO_COVER } from '../../../../firmware/web/cover-art.ts';

/** a cover lookup whose answers the test releases, in any order */
function deferredCovers() {
  const pending = new Map<string, (art: CoverArt | null) => void>();
  const cover = (id: string) => new Promise<CoverArt | null>((resolve) => pending.set(id, resolve));
  return { cover, answer: (id: string, art: CoverArt | null) => pending.get(id)!(art) };
}

describe('NowPlayingCover (the uplink’s cover image)', () => {
  const art = (bytes: number[]): CoverArt => ({ type: 'image/jpeg', data: Uint8Array.from(bytes) });

  it('a lookup that answers after the next track started is dropped: the cover shown is the last track’s', async () => {
    const { cover, answer } = deferredCovers();
    const shown: number[][] = [];
    const covers = new NowPlayingCover({ cover, onCover: (bytes) => shown.push([...bytes]), log: () => {} });
    const first = covers.track('a');
    const second = covers.track('b');
    answer('b', art([2]));
    await second;
    answer('a', art([1]));
    await first;
    expect(shown).to.deep.equal([[2]]);
    expect([...covers.latest!]).to.deep.equal([2]);
  });

  it('no track, no picture, a failed lookup or a picture too large: the placeholder, published once while it stays', async () => {
    const logs: string[] = [];
    const shown: Buffer[] = [];
    const lookups: Record<string, () => Promise<CoverArt | null>> = {
      none: async () => null,
      broken: async () => {
        throw new Error('unreadable file');
      },
      huge: async () => ({ type: 'image/jpeg', data: new Uint8Array(MAX_COVER_BYTES + 1) }),
      small: async () => art([7, 7]),
    };
    const covers = new NowPlayingCover({ cover: (id) => lookups[id]!(), onCover: (bytes) => shown.push(bytes), log: (_l, msg) => logs.push(msg) });
    await covers.track('small');
    for (const id of [null, 'none', 'broken', 'huge']) await covers.track(id);
    expect(shown.map((b) => b.equals(Buffer.from(NO_COVER.data)))).to.deep.equal([false, true]);
    expect(logs).to.deep.equal(['cover art could not be read', 'cover art too large for the uplink; the placeholder is shown']);
  });
});
