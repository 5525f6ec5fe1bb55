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

  it('an API key: the key alone on the wire (no u/t/s), for a server that lists apiKeyAuthentication; the test server refuses a mix (43), a wrong key (44), a token where keys are required (42)', async () => {
    const file = path.join(dir, 'a.mp3');
    const keyed = await startSubsonicServer({
      username: 'ann',
      password: 'pw',
      apiKey: 'key-5f1e',
      keyOnly: true,
      songs: [{ id: 'k1', title: 'Keyed Tune', artist: 'Keyed Band', album: 'K', file, durationS: 10, contentType: 'audio/mpeg', suffix: 'mp3' }],
    });
    try {
      const byKey = openServers([{ name: 'keyed', url: keyed.url, apiKey: 'key-5f1e' }])[0]!;
      expect(byKey.auth).to.equal('apiKey');
      expect(await byKey.extensions()).to.include('apiKeyAuthentication');
      const library = new MusicLibrary({ local: new LibraryIndex([]), servers: [byKey] });
      const found = await library.find('keyed tune');
      expect(found.unreachable).to.deep.equal([]);
      expect(found.hits.map((h) => h.track.title)).to.deep.equal(['Keyed Tune']);
      const signed = keyed.requests.filter((u) => u.pathname.endsWith('/search3'));
      expect(signed).to.have.length(1);
      expect(signed[0]!.searchParams.get('apiKey')).to.equal('key-5f1e');
      for (const k of ['u', 't', 's', 'p']) expect(signed[0]!.searchParams.has(k), `search3 carried '${k}'`).to.equal(false);
      // the stream URL the box stores has no key; the one it fetches has
      const stored = new URL(found.hits[0]!.track.path);
      expect(stored.searchParams.has('apiKey')).to.equal(false);
      expect(library.authorize('keyed', stored).searchParams.get('apiKey')).to.equal('key-5f1e');
      // the test server keeps the extension's rules
      const ask = async (query: string) =>
        ((await (await fetch(`${keyed.url}/rest/ping?f=json&v=1.16.1&c=t&${query}`)).json()) as { 'subsonic-response': { error: { code: number } } })['subsonic-response'];
      expect((await ask('apiKey=key-5f1e&u=ann')).error.code).to.equal(43);
      expect((await ask('apiKey=wrong')).error.code).to.equal(44);
      expect((await ask('u=ann&p=pw')).error.code).to.equal(42);
      // and the box says why when the key is wrong, without the key
      const wrong = new SubsonicServer({ name: 'keyed', url: keyed.url, apiKey: 'not-the-key' });
      const error = await wrong.ping().then(
        () => null,
        (e: Error) => e.message,
      );
      expect(error).to.match(/Invalid API key.*Subsonic error 44/);
      expect(error).to.not.include('not-the-key');
      // a plain Subsonic server lists no extension: none, not a failure
      expect(await openServers([{ name: 'plain', url: server.url, username: 'ann', password: 'pa$$word' }])[0]!.extensions()).to.not.include('apiKeyAuthentication');
    } finally {
      await keyed.close();
    }
  });

  it('config servers: an API key from the config, a file or the environment, never with a username', () => {
    const keyFile = path.join(dir, 'key');
    writeFileSync(keyFile, 'k-from-file\n');
    const base = { name: 'n', url: 'http://127.0.0.1:1' };
    expect(
      openServers([{ ...base, apiKeyFile: keyFile }])[0]!
        .authorize(new URL('http://127.0.0.1:1/rest/ping'))
        .searchParams.get('apiKey'),
    ).to.equal('k-from-file');
    expect(openServers([{ ...base, apiKeyEnv: 'NC_KEY' }], { NC_KEY: 'k' })[0]!.auth).to.equal('apiKey');
    expect(() => openServers([{ ...base, username: 'u', apiKey: 'k' }])).to.throw(/an API key goes without a username/);
    expect(() => openServers([{ ...base, password: 'p', apiKey: 'k' }])).to.throw(/exactly one of/);
    expect(() => openServers([{ ...base, password: 'p' }])).to.throw(/a password needs a username/);
    expect(() => openServers([{ ...base, apiKeyEnv: 'NC_NONE' }], {})).to.throw(/API key is empty \(environment variable NC_NONE is not set\)/);
  });
});
