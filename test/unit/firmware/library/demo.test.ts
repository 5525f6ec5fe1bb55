import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_SONGS, ensureDemoLibrary } from '../../../../firmware/library/demo.ts';
import { scanLibrary } from '../../../../firmware/library/scanner.ts';
import { LibraryIndex } from '../../../../firmware/library/search.ts';
import { itemAt } from '../../../../firmware/util/checked-index.ts';

describe('demo library', function () {
  this.timeout(60_000);
  let dir: string;
  let first: { created: boolean; files: string[] };

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nearcast-demo-'));
    first = await ensureDemoLibrary(path.join(dir, 'music'));
  });

  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('creates one file per demo song in mixed formats, with no temp files left behind', async () => {
    expect(first.created).to.equal(true);
    expect(first.files).to.have.length(DEMO_SONGS.length);
    const names = await fs.readdir(path.join(dir, 'music'));
    expect(names.filter((n) => n.startsWith('.'))).to.deep.equal([]);
    expect(new Set(names.map((n) => path.extname(n))).size).to.be.at.least(3);
  });

  it('tags every song so the scanner reads title, artist and album, including the CJK title', async () => {
    const { tracks, problems } = await scanLibrary([path.join(dir, 'music')]);
    expect(problems).to.deep.equal([]);
    const byTitle = new Map(tracks.map((t) => [t.title, t]));
    for (const title of ['Moon River', 'Café Olé', '月の光', 'Blue Monday Morning', 'Neon Tide']) expect(byTitle.has(title), title).to.equal(true);
    expect(byTitle.get('Moon River')?.artist).to.equal('Demo Quartet');
    expect(byTitle.get('月の光')?.artist).to.equal('夜の楽団');
    for (const t of tracks) {
      expect(t.album, t.title).to.not.equal('');
      expect(t.durationMs, t.title).to.be.within(19_000, 41_000);
    }
  });

  it('is searchable the way a listener would ask', async () => {
    const { tracks } = await scanLibrary([path.join(dir, 'music')]);
    const index = new LibraryIndex(tracks);
    expect(index.search('moon rivr', 1)[0]?.track.title).to.equal('Moon River');
    expect(index.search('cafe ole', 1)[0]?.track.title).to.equal('Café Olé');
    expect(index.search('月の', 1)[0]?.track.title).to.equal('月の光');
  });

  it('leaves an existing library alone on the next call', async () => {
    const again = await ensureDemoLibrary(path.join(dir, 'music'));
    expect(again.created).to.equal(false);
    expect(again.files.sort()).to.deep.equal([...first.files].sort());
  });

  it('does not add demo songs to a folder that already has music', async () => {
    const own = path.join(dir, 'own');
    await fs.mkdir(own);
    await fs.copyFile(itemAt(first.files, 0, 'demo files'), path.join(own, 'mine.mp3'));
    const result = await ensureDemoLibrary(own);
    expect(result).to.deep.equal({ created: false, files: [path.join(own, 'mine.mp3')] });
  });

  it('explains how to install ffmpeg when it is missing', async () => {
    let error: unknown;
    await ensureDemoLibrary(path.join(dir, 'empty'), { ffmpeg: path.join(dir, 'no-such-ffmpeg') }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.contain('apt-get install ffmpeg');
  });
});
