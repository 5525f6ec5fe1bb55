import { expect } from 'chai';
import { damerauLevenshtein, LibraryIndex, normalizeText, tokenize } from '../../../../firmware/library/search.ts';
import type { Track } from '../../../../firmware/library/track.ts';

function track(id: string, title: string, artist = '', album = '', fileName = `${title}.mp3`): Track {
  return { id, path: `/music/${fileName}`, title, artist, album, durationMs: 180_000, fileName, hasArtwork: false };
}

const LIBRARY: Track[] = [
  track('moon', 'Moon River', 'Demo Quartet', 'Nearcast Demo Sessions'),
  track('cafe', 'Café Olé', 'Orquesta Pequeña', 'Nearcast Demo Sessions'),
  track('tsuki', '月の光', '夜の楽団', '夜の音'),
  track('tokyo', '東京の夜', 'Night Walkers', 'City'),
  track('blue', 'Blue Monday Morning', 'The Weekday Blues', 'Nearcast Demo Sessions'),
  track('neon', 'Neon Tide', 'Synth Harbor', 'Nearcast Demo Sessions'),
  track('halo', 'Halo', 'Beyoncé', 'I Am... Sasha Fierce'),
  track('strasse', 'Straße der Lieder', 'Ørjan Œuvre', 'Ｆｕｌｌ Ｗｉｄｔｈ'),
  track('moonsongs', 'Quiet Evening', 'Someone Else', 'Moon Songs'),
  track('rivet', 'Rivet Gun', 'Factory', 'Works'),
  track('file', 'Untitled', '', '', 'hidden gem recording.mp3'),
];

const index = new LibraryIndex(LIBRARY);
const ids = (query: string, limit?: number): string[] => index.search(query, limit).map((h) => h.track.id);
const top = (query: string): string | undefined => ids(query)[0];

describe('LibraryIndex', () => {
  describe('lookup', () => {
    it('returns tracks by id and lists them all', () => {
      expect(index.get('neon')?.title).to.equal('Neon Tide');
      expect(index.get('nope')).to.equal(undefined);
      expect(index.all()).to.have.length(LIBRARY.length);
    });

    it('keeps the first of two tracks that share an id', () => {
      const dup = new LibraryIndex([track('x', 'First'), track('x', 'Second')]);
      expect(dup.all().map((t) => t.title)).to.deep.equal(['First']);
    });
  });

  describe('matching', () => {
    it('ignores case', () => {
      expect(top('MOON RIVER')).to.equal('moon');
    });

    it('ignores accents both ways: "cafe" finds "Café", "beyonce" finds "Beyoncé"', () => {
      expect(top('cafe')).to.equal('cafe');
      expect(top('cafe ole')).to.equal('cafe');
      expect(top('beyonce')).to.equal('halo');
      expect(top('Beyoncé')).to.equal('halo');
    });

    it('folds ß, œ, ø and full-width letters', () => {
      expect(top('strasse')).to.equal('strasse');
      expect(top('oeuvre')).to.equal('strasse');
      expect(top('orjan')).to.equal('strasse');
      expect(top('full width')).to.equal('strasse');
      expect(top('ＭＯＯＮ ＲＩＶＥＲ')).to.equal('moon');
    });

    it('finds CJK text inside titles that have no spaces', () => {
      expect(top('月の')).to.equal('tsuki');
      expect(top('月の光')).to.equal('tsuki');
      expect(top('東京')).to.equal('tokyo');
      expect(top('夜の楽団')).to.equal('tsuki');
      expect(ids('光')).to.deep.equal(['tsuki']);
    });

    it('tolerates small typos: a missing letter, a swapped pair, a short word off by one', () => {
      expect(top('moon rivr')).to.equal('moon');
      expect(top('rvier')).to.equal('moon');
      expect(top('mon river')).to.equal('moon');
      expect(index.get(top('nearcats demo sesions') ?? '')?.album).to.equal('Nearcast Demo Sessions');
    });

    it('does not fuzz short words into unrelated ones', () => {
      expect(ids('gum')).to.deep.equal([]);
    });

    it('completes the word being typed', () => {
      expect(top('moo')).to.equal('moon');
      expect(top('blue mon')).to.equal('blue');
      expect(top('neo')).to.equal('neon');
    });

    it('searches the file name too', () => {
      expect(top('hidden gem')).to.equal('file');
    });

    it('returns nothing for an empty or blank query, or one that matches nothing', () => {
      expect(index.search('')).to.deep.equal([]);
      expect(index.search('   \t ')).to.deep.equal([]);
      expect(index.search('!!!')).to.deep.equal([]);
      expect(index.search('zzzzqqq')).to.deep.equal([]);
    });
  });

  describe('ranking', () => {
    it('ranks a title match above an album-only match', () => {
      const hits = ids('moon');
      expect(hits.indexOf('moon')).to.be.lessThan(hits.indexOf('moonsongs'));
      expect(hits).to.include('moonsongs');
    });

    it('ranks an exact word above a fuzzy one', () => {
      const hits = ids('river');
      expect(hits[0]).to.equal('moon');
      expect(hits).to.include('rivet'); // "rivet" is one edit from "river"
    });

    it('ranks an exact album match above a typo in a title', () => {
      const idx = new LibraryIndex([track('a', 'Rivet'), track('b', 'Something', 'X', 'River')]);
      expect(idx.search('river').map((h) => h.track.id)).to.deep.equal(['b', 'a']);
    });

    it('ranks the whole phrase above tracks that contain only some of the words', () => {
      const idx = new LibraryIndex([track('partial', 'River Deep', 'The Moon Band'), track('phrase', 'Moon River')]);
      expect(idx.search('moon river')[0]?.track.id).to.equal('phrase');
    });

    it('returns scores in descending order and respects the limit', () => {
      const hits = index.search('nearcast demo', 3);
      expect(hits).to.have.length(3);
      for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).to.be.at.least(hits[i]!.score); // 1 <= i < hits.length
    });

    it('finds the right song among ten thousand', () => {
      const many: Track[] = [];
      for (let i = 0; i < 10_000; i++) many.push(track(`t${i}`, `Song ${i} of the Night`, `Band ${i % 97}`, `Album ${i % 301}`));
      many.push(track('target', 'Moon River', 'Demo Quartet'));
      const idx = new LibraryIndex(many);
      expect(idx.search('moon rivr', 5)[0]?.track.id).to.equal('target');
      expect(idx.search('song 4242', 1)[0]?.track.id).to.equal('t4242');
    });
  });

  describe('bad input', () => {
    it('rejects a limit that is not a positive integer', () => {
      expect(() => index.search('moon', 0)).to.throw(RangeError, /positive integer/);
      expect(() => index.search('moon', 1.5)).to.throw(RangeError);
    });

    it('rejects a query that is not a string', () => {
      expect(() => index.search(42 as unknown as string)).to.throw(TypeError, /string/);
    });
  });
});

describe('text normalization', () => {
  it('produces case-, accent- and width-free text but keeps kana voicing', () => {
    expect(normalizeText('Café Beyoncé')).to.equal('cafe beyonce');
    expect(normalizeText('ＡＢＣ１２３')).to.equal('abc123');
    expect(normalizeText('が')).to.equal('が');
    expect(normalizeText("Don't")).to.equal('dont');
  });

  it('splits words and CJK runs', () => {
    expect(tokenize('tokyo東京の夜 live')).to.deep.equal([
      { text: 'tokyo', cjk: false },
      { text: '東京の夜', cjk: true },
      { text: 'live', cjk: false },
    ]);
  });

  it('counts an adjacent swap as one edit', () => {
    expect(damerauLevenshtein('rvier', 'river', 2)).to.equal(1);
    expect(damerauLevenshtein('rivr', 'river', 2)).to.equal(1);
    expect(damerauLevenshtein('abc', 'xyz', 1)).to.equal(2); // gives up past the bound
  });
});
