import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { OverlayItem } from '../../../../firmware/audio/overlay-mixer.ts';
import type { PcmSource } from '../../../../firmware/audio/types.ts';
import { Announcements } from '../../../../firmware/domain/announcements.ts';
import { BoxEvents } from '../../../../firmware/domain/box-events.ts';
import { ClientError } from '../../../../firmware/domain/client-error.ts';

const source = (description: string): PcmSource => ({ kind: 'file', description, ended: true, error: null, read: () => new Int16Array(0), close() {} });

describe('Announcements (queued over ducked music)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nearcast-announce-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function setup(maxQueue = 2) {
    const played: OverlayItem[] = [];
    const mixer = { play: (item: OverlayItem) => played.push(item), playing: false, waiting: 0 };
    const events = new BoxEvents();
    const told: Array<Record<string, unknown>> = [];
    events.on('announcement', (a) => told.push(a));
    const spoken: string[] = [];
    const speech = path.join(dir, 'speech.wav');
    const announcements = new Announcements({
      mixer,
      events,
      chime: () => [source('chime')],
      openFile: (file) => source(file),
      openUrl: (url) => source(`fetched ${url}`),
      speak: async (text) => {
        spoken.push(text);
        fs.writeFileSync(speech, 'RIFF');
        return speech;
      },
      folders: [path.join(dir, 'music')],
      defaults: { duckDb: 12, chime: true },
      maxQueue,
      latencyMs: 400,
      now: () => 1_000,
    });
    fs.mkdirSync(path.join(dir, 'music'));
    return { announcements, played, mixer, told, spoken, speech };
  }

  it('speaks text after the chime, ducked by the default, and tells the bus as it goes; the speech file goes once played', async () => {
    const { announcements, played, told, spoken, speech } = setup();
    const reply = await announcements.announce({ text: 'The shop closes in ten minutes' });
    expect(reply.ahead).to.equal(0);
    expect(spoken).to.deep.equal(['The shop closes in ten minutes']);
    expect(played).to.have.length(1);
    expect(played[0]!.sources.map((s) => s.description)).to.deep.equal(['chime', speech]);
    expect(played[0]!.duckGain).to.be.closeTo(0.2512, 0.0001);
    played[0]!.started?.();
    played[0]!.done();
    expect(told.map((t) => t.state)).to.deep.equal(['queued', 'started', 'done']);
    expect(told[2]).to.deep.include({ title: 'The shop closes in ten minutes', startedAt: 1_400, endedAt: 1_400 });
    await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(speech), 'the speech file is removed').to.equal(false);
  });

  it('a file from the library folders, without chime, at its own duck level; other files are refused', async () => {
    const { announcements, played } = setup();
    const jingle = path.join(dir, 'music', 'jingle.mp3');
    fs.writeFileSync(jingle, 'x');
    await announcements.announce({ file: jingle, chime: false, duckDb: 0 });
    expect(played[0]!.sources.map((s) => s.description)).to.deep.equal([fs.realpathSync(jingle)]);
    expect(played[0]!.duckGain).to.equal(1);
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'x');
    fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(dir, 'music', 'link.mp3'));
    for (const [file, reason] of [
      [path.join(dir, 'secret.txt'), /must be in the library/],
      [path.join(dir, 'music', 'link.mp3'), /must be in the library/],
      [path.join(dir, 'music', 'none.mp3'), /does not exist/],
      [path.join(dir, 'music'), /not a file/],
    ] as const) {
      const refusal = await announcements.announce({ file }).catch((e: Error) => e);
      expect(refusal, file).to.be.instanceOf(ClientError);
      expect((refusal as Error).message, file).to.match(reason);
    }
  });

  it('an http(s) URL is fetched when it plays, titled by its name; other schemes are refused', async () => {
    const { announcements, played, told } = setup();
    await announcements.announce({ url: 'http://127.0.0.1:8000/news/top.mp3?k=1', chime: false });
    expect(played[0]!.sources.map((s) => s.description)).to.deep.equal(['fetched http://127.0.0.1:8000/news/top.mp3?k=1']);
    expect(told[0]).to.deep.include({ state: 'queued', title: 'top.mp3' });
    for (const [url, reason] of [
      ['file:///etc/passwd', /must be http or https, not file:/],
      ['not a url', /is not a URL/],
    ] as const) {
      const refusal = await announcements.announce({ url }).catch((e: Error) => e);
      expect(refusal, url).to.be.instanceOf(ClientError);
      expect((refusal as Error).message, url).to.match(reason);
    }
  });

  it('refuses more than maxQueue waiting, and says why speech failed', async () => {
    const { announcements, mixer } = setup(2);
    mixer.waiting = 2;
    expect(((await announcements.announce({ text: 'hi' }).catch((e: Error) => e)) as Error).message).to.match(/2 announcements are already waiting/);
    mixer.waiting = 0;
    const failing = new Announcements({
      mixer,
      events: new BoxEvents(),
      chime: () => [],
      openFile: source,
      openUrl: source,
      speak: () => Promise.reject(new Error('espeak-ng is not installed (Debian package espeak-ng)')),
      folders: [],
      defaults: { duckDb: 12, chime: true },
      maxQueue: 2,
      latencyMs: 0,
    });
    const refusal = (await failing.announce({ text: 'hi' }).catch((e: Error) => e)) as Error;
    expect(refusal).to.be.instanceOf(ClientError);
    expect(refusal.message).to.equal('cannot speak the announcement: espeak-ng is not installed (Debian package espeak-ng)');
  });
});
