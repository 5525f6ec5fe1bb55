// The library made of backends, against the OpenSubsonic test server (test/helpers/subsonic-server.ts)
// on loopback: salted-token auth, merged ranking, time limits, credentials kept out of stored URLs.

import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MusicLibrary, openServers } from '../../../../firmware/library/music-library.ts';
import { LibraryIndex } from '../../../../firmware/library/search.ts';
import { SubsonicServer } from '../../../../firmware/library/subsonic-client.ts';
import type { Track } from '../../../../firmware/library/track.ts';
import { startSubsonicServer, type SubsonicTestServer } from '../../../helpers/subsonic-server.ts';

const local = (id: string, title: string, artist = 'Local Artist'): Track => ({
  id,
  path: `/music/${id}.flac`,
  title,
  artist,
  album: 'On the box',
  durationMs: 1000,
  fileName: `${title}.flac`,
  hasArtwork: false,
});

describe('MusicLibrary with an OpenSubsonic server', function () {
  this.timeout(20_000);
  let dir: string;
  let server: SubsonicTestServer;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-subsonic-'));
    const file = path.join(dir, 'a.mp3');
    writeFileSync(file, Buffer.alloc(1000));
    const song = (id: string, title: string, artist: string) => ({ id, title, artist, album: 'Remote Album', file, durationS: 200, contentType: 'audio/mpeg', suffix: 'mp3' });
    server = await startSubsonicServer({
      username: 'ann',
      password: 'pa$$word',
      songs: [song('s1', 'Moon River', 'Local Artist'), song('s2', 'Moonlight Sonata', 'Remote Pianist'), song('s3', 'Harbour Lights', 'Remote Band')],
    });
  });
  beforeEach(() => {
    server.requests.length = 0;
    server.searchDelayMs = 0;
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const home = (overrides: Partial<ConstructorParameters<typeof SubsonicServer>[0]> = {}) =>
    new SubsonicServer({ name: 'home', url: server.url, username: 'ann', password: 'pa$$word', ...overrides });

  it('authenticates with a salted token: the password itself never goes on the wire, each request has its own salt', async () => {
    await home().ping();
    await home().ping();
    const [a, b] = server.requests;
    for (const r of [a!, b!]) {
      expect(r.searchParams.has('p'), 'no plain password').to.equal(false);
      expect(r.searchParams.get('t')).to.equal(
        createHash('md5')
          .update('pa$$word' + r.searchParams.get('s'))
          .digest('hex'),
      );
      expect(r.searchParams.get('u')).to.equal('ann');
      expect(r.searchParams.get('f')).to.equal('json');
    }
    expect(a!.searchParams.get('s')).not.to.equal(b!.searchParams.get('s'));
  });

  it("a wrong password is the server's own reason, without the credentials", async () => {
    const error = await home({ password: 'wrong' })
      .ping()
      .then(
        () => null,
        (e: Error) => e,
      );
    expect(error?.message).to.equal("server 'home': Wrong username or password. (Subsonic error 40)");
  });

  it('merges the box and the server: ranked by the same scoring, the box first on a tie, each marked with where it lives', async () => {
    const library = new MusicLibrary({ local: new LibraryIndex([local('l1', 'Moon River'), local('l2', 'Neon Tide')]), servers: [home()] });
    const { hits, unreachable } = await library.find('moon', 10);
    expect(unreachable).to.deep.equal([]);
    expect(hits.map((h) => [h.track.title, h.where])).to.deep.equal([
      ['Moon River', 'box'],
      ['Moon River', 'home'],
      ['Moonlight Sonata', 'home'],
    ]);
    expect(hits[0]!.score).to.equal(hits[1]!.score);
    // a server's track is known by id afterwards (play by id, the queue), and its stored URL has no credentials
    const remote = library.get(hits[1]!.track.id);
    expect(remote).to.include({ title: 'Moon River', server: 'home', remoteId: 's1' });
    const stored = new URL(remote!.path);
    expect([...stored.searchParams.keys()].sort()).to.deep.equal(['format', 'id']);
    expect(stored.pathname).to.equal('/rest/stream');
    // the credentials are added at the moment of the request
    const authorized = library.authorize('home', stored);
    expect(authorized.searchParams.get('t')).to.have.length(32);
    expect(
      library.all().map((t) => t.id),
      'the queue loops over the box only',
    ).to.deep.equal(['l1', 'l2']);
    // its cover art, from the server (the web page shows /art/<id>)
    const cover = await library.coverArt(hits[1]!.track.id);
    expect(cover?.type).to.equal('image/png');
    expect(Buffer.from(cover!.data).subarray(1, 4).toString()).to.equal('PNG');
    expect(await library.coverArt('l1'), 'a file on the box: the web server reads its own').to.equal(null);
  });

  it('a slow server does not hold up the answer more than its time limit (default 1 s); it is named', async () => {
    server.searchDelayMs = 5000;
    const library = new MusicLibrary({ local: new LibraryIndex([local('l1', 'Moon River')]), servers: [home()] });
    const t0 = Date.now();
    const { hits, unreachable } = await library.find('moon', 10);
    const took = Date.now() - t0;
    expect(took, `ms the search took`).to.be.within(900, 2000);
    expect(hits.map((h) => h.where)).to.deep.equal(['box']);
    expect(unreachable).to.deep.equal([{ server: 'home', error: "server 'home': no answer in time" }]);
  });

  it('a server that is down is named and the rest answers', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const library = new MusicLibrary({ local: new LibraryIndex([local('l1', 'Moon River')]), servers: [home(), home({ name: 'attic', url: `http://127.0.0.1:${port}` })] });
    const { hits, unreachable } = await library.find('harbour', 10);
    expect(hits.map((h) => [h.track.title, h.where])).to.deep.equal([['Harbour Lights', 'home']]);
    expect(unreachable).to.deep.equal([{ server: 'attic', error: "server 'attic': connection refused" }]);
  });

  it('config servers: the password from the config, a file or the environment, exactly one of them', () => {
    const pwFile = path.join(dir, 'pw');
    writeFileSync(pwFile, 'from-file\n');
    const base = { name: 'n', url: 'http://127.0.0.1:1', username: 'u' };
    expect(
      openServers(
        [
          { ...base, passwordFile: pwFile },
          { ...base, name: 'm', passwordEnv: 'NC_PW' },
        ],
        { NC_PW: 'x' },
      ),
    ).to.have.length(2);
    expect(() => openServers([base])).to.throw(/servers\[0\] \('n'\): give exactly one of password, passwordFile, passwordEnv/);
    expect(() => openServers([{ ...base, password: 'a', passwordEnv: 'X' }])).to.throw(/exactly one/);
    expect(() => openServers([{ ...base, passwordEnv: 'NC_MISSING' }], {})).to.throw(/environment variable NC_MISSING is not set/);
    expect(() => openServers([{ ...base, passwordFile: path.join(dir, 'nope') }])).to.throw(/cannot read passwordFile .*ENOENT/);
    expect(() => openServers([{ ...base, url: 'http://u:p@host/', password: 'a' }])).to.throw(/must not hold credentials/);
    expect(
      () =>
        new MusicLibrary({
          local: new LibraryIndex([]),
          servers: openServers([
            { ...base, password: 'a' },
            { ...base, password: 'b' },
          ]),
        }),
    ).to.throw(/used twice/);
  });
});
