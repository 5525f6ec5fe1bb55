// The box's web side over real HTTP: the page, its script, cover art of library
// files, and clear answers for anything else.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { startBox, type BoxProcess } from '../helpers/box-process.ts';
import { makeTestMusic } from '../helpers/test-music.ts';
import type { Reply } from '../../firmware/wire/requests.ts';
import { itemAt } from '../../firmware/util/checked-index.ts';

describe('web server (real box process)', function () {
  this.timeout(60_000);
  let dir: string;
  let box: BoxProcess;
  let base: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-websrv-'));
    const music = path.join(dir, 'music');
    makeTestMusic(music, 5);
    mkdirSync(path.join(dir, 'src'));
    const ff = (...a: string[]) => execFileSync('ffmpeg', ['-v', 'error', '-y', ...a]);
    ff('-f', 'lavfi', '-i', 'color=c=red:s=64x64', '-frames:v', '1', path.join(dir, 'src', 'cover.png'));
    ff(
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=330:duration=5',
      '-i',
      path.join(dir, 'src', 'cover.png'),
      '-map',
      '0:a',
      '-map',
      '1:v',
      '-c:a',
      'libmp3lame',
      '-c:v',
      'png',
      '-disposition:v',
      'attached_pic',
      '-id3v2_version',
      '3',
      '-metadata',
      'title=Covered Song',
      '-metadata',
      'artist=Art Band',
      path.join(music, 'covered.mp3'),
    );
    box = await startBox(['--music', music, '--source', 'silence', '--audio-device', 'none', '--no-keyboard', '--state-dir', path.join(dir, 'state')]);
    base = `http://127.0.0.1:${box.ports.http}`;
  });
  after(async () => {
    if (box) expect(await box.stop()).to.equal(0);
    rmSync(dir, { recursive: true, force: true });
  });

  async function search(q: string): Promise<string> {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${box.ports.mqtt}`, { clientId: 'art-search', protocolVersion: 4 });
    try {
      await c.subscribeAsync(`nearcast/${box.boxId}/client/art-search/response/#`);
      const got = new Promise<Reply<{ results: Array<{ id: string }> }>>((r) =>
        c.once('message', (_t, p) => r(JSON.parse(p.toString()) as Reply<{ results: Array<{ id: string }> }>)),
      );
      await c.publishAsync(`nearcast/${box.boxId}/client/art-search/request/search`, JSON.stringify({ query: q }));
      return itemAt((await got).data?.results ?? [], 0, `search results for '${q}'`).id;
    } finally {
      await c.endAsync();
    }
  }

  it('serves the page and the companion script', async () => {
    const page = await fetch(base + '/');
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.include('text/html');
    expect(await page.text()).to.include('<script type="module" src="/app.js">');
    const js = await fetch(base + '/app.js');
    expect(js.status).to.equal(200);
    expect(js.headers.get('content-type')).to.include('javascript');
    expect((await js.text()).length).to.be.greaterThan(10_000);
  });

  it("serves a track's embedded cover art, and 404 for a track without one or an unknown id", async () => {
    const covered = await fetch(`${base}/art/${await search('Covered Song')}`);
    expect(covered.status).to.equal(200);
    expect(covered.headers.get('content-type')).to.equal('image/png');
    expect(
      Buffer.from(await covered.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).to.equal('PNG');
    expect((await fetch(`${base}/art/${await search('Moon River')}`)).status).to.equal(404);
    expect((await fetch(`${base}/art/nope`)).status).to.equal(404);
  });

  it('answers other paths and methods clearly', async () => {
    expect((await fetch(base + '/etc/passwd')).status).to.equal(404);
    expect((await fetch(base + '/', { method: 'POST' })).status).to.equal(405);
  });
});
