import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { guessFromFileName, loadArtwork, scanLibrary, type ScanProblem } from '../../../../firmware/library/scanner.ts';
import { trackIdFor } from '../../../../firmware/library/track.ts';

/** A 1 s tone, tagged as asked (no tags when `tags` is empty), optionally with a cover picture. */
function makeAudio(file: string, codec: string, tags: Record<string, string>, cover = false): void {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'sine=f=440:d=1:sample_rate=48000'];
  if (cover) args.push('-f', 'lavfi', '-i', 'color=c=red:s=8x8:d=0.04', '-map', '0:a', '-map', '1:v', '-frames:v', '1', '-c:v', 'png', '-disposition:v', 'attached_pic');
  args.push('-ac', '2', '-c:a', codec, '-map_metadata', '-1');
  if (codec === 'libmp3lame') args.push('-id3v2_version', '3');
  for (const [k, v] of Object.entries(tags)) args.push('-metadata', `${k}=${v}`);
  args.push(file);
  const r = spawnSync('ffmpeg', args, { timeout: 20_000 });
  if (r.status !== 0) throw new Error(`ffmpeg failed for ${file}: ${r.stderr?.toString()}`);
}

/** Deterministic junk, so the "corrupt file" case never flakes. */
function junk(bytes: number): Buffer {
  const parts: Buffer[] = [];
  let block = createHash('sha256').update('nearcast').digest();
  while (parts.length * 32 < bytes) {
    parts.push(block);
    block = createHash('sha256').update(block).digest();
  }
  return Buffer.concat(parts).subarray(0, bytes);
}

describe('library scanner', function () {
  this.timeout(30_000);
  let dir: string;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nearcast-scan-'));
    await fs.mkdir(path.join(dir, 'nested', 'deeper'), { recursive: true });
    makeAudio(path.join(dir, 'tagged.mp3'), 'libmp3lame', { title: 'Tagged Song', artist: 'Tag Artist', album: 'Tag Album', genre: 'Jazz', date: '1962' }, true);
    makeAudio(path.join(dir, 'nested', 'deeper', 'track01.flac'), 'flac', { title: 'Café Olé', artist: 'Beyoncé', album: 'Été' });
    makeAudio(path.join(dir, 'Some Artist - Some Song.mp3'), 'libmp3lame', {});
    await fs.writeFile(path.join(dir, 'corrupt.mp3'), junk(20_000));
    await fs.writeFile(path.join(dir, 'empty.ogg'), Buffer.alloc(0));
    await fs.writeFile(path.join(dir, 'notes.txt'), 'not music');
    await fs.copyFile(path.join(dir, 'tagged.mp3'), path.join(dir, '.hidden.mp3'));
    await fs.symlink('..', path.join(dir, 'nested', 'loop')); // a folder loop must not hang or duplicate
  });

  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reads title, artist, album and duration from tags, recursing into sub-folders', async () => {
    const { tracks } = await scanLibrary([dir]);
    const tagged = tracks.find((t) => t.fileName === 'tagged.mp3');
    expect(tagged).to.include({ title: 'Tagged Song', artist: 'Tag Artist', album: 'Tag Album', hasArtwork: true });
    expect(tagged?.path).to.equal(path.join(dir, 'tagged.mp3'));
    expect(tagged?.durationMs).to.be.within(900, 1200);
    const nested = tracks.find((t) => t.fileName === 'track01.flac');
    expect(nested).to.include({ title: 'Café Olé', artist: 'Beyoncé', album: 'Été', hasArtwork: false });
  });

  it("reads genre and year for the programme's tag queries, and leaves them out when untagged", async () => {
    const { tracks } = await scanLibrary([dir]);
    const tagged = tracks.find((t) => t.fileName === 'tagged.mp3');
    expect(tagged?.genres, JSON.stringify(tagged)).to.deep.equal(['Jazz']);
    expect(tagged?.year, JSON.stringify(tagged)).to.equal(1962);
    const untagged = tracks.find((t) => t.fileName === 'Some Artist - Some Song.mp3');
    expect(untagged && ('genres' in untagged || 'year' in untagged), JSON.stringify(untagged)).to.equal(false);
  });

  it('falls back to "Artist - Title" from the file name when tags are missing', async () => {
    const { tracks } = await scanLibrary([dir]);
    const untagged = tracks.find((t) => t.fileName === 'Some Artist - Some Song.mp3');
    expect(untagged).to.include({ title: 'Some Song', artist: 'Some Artist', album: '' });
  });

  it('reports corrupt and empty files as problems and keeps scanning', async () => {
    const seen: ScanProblem[] = [];
    const { tracks, problems } = await scanLibrary([dir], { onProblem: (p) => seen.push(p) });
    expect(tracks.map((t) => t.fileName).sort()).to.deep.equal(['Some Artist - Some Song.mp3', 'tagged.mp3', 'track01.flac']);
    const bad = problems.map((p) => path.basename(p.path)).sort();
    expect(bad).to.deep.equal(['corrupt.mp3', 'empty.ogg']);
    expect(problems.find((p) => p.path.endsWith('empty.ogg'))?.error).to.match(/empty/);
    expect(seen).to.deep.equal(problems);
  });

  it('skips dot-files and non-audio files and follows a symlink loop only once', async () => {
    const { tracks } = await scanLibrary([dir]);
    expect(tracks.some((t) => t.fileName.startsWith('.'))).to.equal(false);
    expect(tracks.some((t) => t.fileName.endsWith('.txt'))).to.equal(false);
    expect(new Set(tracks.map((t) => t.id)).size).to.equal(tracks.length);
  });

  it('reports a missing root as a problem instead of failing', async () => {
    const missing = path.join(dir, 'no-such-folder');
    const { tracks, problems } = await scanLibrary([missing, dir]);
    expect(tracks).to.have.length(3);
    expect(problems.some((p) => p.path === missing && /missing/.test(p.error))).to.equal(true);
  });

  it('gives ids that are stable across scans and derived from the root-relative path', async () => {
    const a = await scanLibrary([dir]);
    const b = await scanLibrary([dir]);
    expect(a.tracks.map((t) => t.id)).to.deep.equal(b.tracks.map((t) => t.id));
    const nested = a.tracks.find((t) => t.fileName === 'track01.flac');
    expect(nested?.id).to.equal(trackIdFor('nested/deeper/track01.flac'));
  });

  it('honours a custom extension list', async () => {
    const { tracks } = await scanLibrary([dir], { extensions: ['flac'] });
    expect(tracks.map((t) => t.fileName)).to.deep.equal(['track01.flac']);
  });

  it('loads embedded artwork on demand, and null when there is none', async () => {
    const { tracks } = await scanLibrary([dir]);
    const art = await loadArtwork(tracks.find((t) => t.fileName === 'tagged.mp3')!);
    expect(art?.mime).to.equal('image/png');
    expect(art?.data.length).to.be.greaterThan(0);
    expect(await loadArtwork(tracks.find((t) => t.fileName === 'track01.flac')!)).to.equal(null);
    expect(await loadArtwork({ path: path.join(dir, 'gone.mp3') })).to.equal(null);
  });

  it('rejects roots that are not a list of paths', async () => {
    let error: unknown;
    await scanLibrary('/music' as unknown as string[]).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(TypeError);
  });
});

describe('guessFromFileName', () => {
  it('splits "Artist - Title" and drops the extension', () => {
    expect(guessFromFileName('Some Artist - Some Song.mp3')).to.deep.equal({ artist: 'Some Artist', title: 'Some Song' });
  });

  it('uses the bare name as the title when there is no artist part', () => {
    expect(guessFromFileName('Lonely_Tune.flac')).to.deep.equal({ artist: '', title: 'Lonely Tune' });
  });

  it('drops a leading track number but keeps titles that start with a number', () => {
    expect(guessFromFileName('03 - Band - Song.ogg')).to.deep.equal({ artist: 'Band', title: 'Song' });
    expect(guessFromFileName('99 Luftballons.mp3')).to.deep.equal({ artist: '', title: '99 Luftballons' });
  });
});
