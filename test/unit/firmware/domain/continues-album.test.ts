import { expect } from 'chai';
import { continuesAlbum } from '../../../../firmware/domain/album-order.ts';
import type { Track } from '../../../../firmware/library/track.ts';

const track = (file: string, album: string, extra: Partial<Track> = {}): Track => ({
  id: file,
  path: file,
  title: file,
  artist: '',
  album,
  durationMs: 1000,
  fileName: file.split('/').pop() ?? file,
  hasArtwork: false,
  ...extra,
});

describe('continuesAlbum: which next track plays gapless instead of crossfaded', () => {
  const one = track('/m/Live/01 Intro.flac', 'Live');
  const two = track('/m/Live/02 Song.flac', 'Live');
  const three = track('/m/Live/03 Encore.flac', 'Live');
  const other = track('/m/Studio/01 Song.flac', 'Studio');
  const library = [three, other, one, two];

  it('the next file of the same folder and album, in name order', () => {
    expect(continuesAlbum(one, two, library)).to.equal(true);
    expect(continuesAlbum(two, three, library)).to.equal(true);
  });

  it('not a skipped track, an earlier one, another album or folder, an untagged album or a music server track', () => {
    expect(continuesAlbum(one, three, library), 'skips 02').to.equal(false);
    expect(continuesAlbum(two, one, library), 'backwards').to.equal(false);
    expect(continuesAlbum(three, other, library), 'another album').to.equal(false);
    const moved = track('/m/Elsewhere/02 Song.flac', 'Live');
    expect(continuesAlbum(one, moved, [...library, moved]), 'another folder').to.equal(false);
    const [a, b] = [track('/m/Loose/a.flac', ''), track('/m/Loose/b.flac', '')];
    expect(continuesAlbum(a, b, [a, b]), 'no album tag').to.equal(false);
    const [r1, r2] = [track('https://s/1', 'Live', { server: 'nas' }), track('https://s/2', 'Live', { server: 'nas' })];
    expect(continuesAlbum(r1, r2, [r1, r2]), 'a music server').to.equal(false);
  });
});
