import net from 'node:net';
import { expect } from 'chai';
import { resolveCredentials, CredentialError } from '../../../../companion/cli/credentials.ts';
import { classifyReply, explainProbe, probePort } from '../../../../companion/client/port-probe.ts';
import { keepKnownTracks } from '../../../../firmware/domain/playback.ts';

describe('CLI first run: credentials, port probe, stale saved queue', () => {
  const io = (env: NodeJS.ProcessEnv, prompt: ((q: string) => Promise<string>) | null = null) => {
    const warnings: string[] = [];
    return { warnings, io: { env, prompt, warn: (l: string) => warnings.push(l) } };
  };

  it('takes the password from NEARCAST_PASSWORD, else the prompt; argv works with a warning; no --user is a guest', async () => {
    let t = io({ NEARCAST_PASSWORD: 'pw-env' });
    expect(await resolveCredentials({ user: 'owner' }, t.io)).to.deep.equal({ username: 'owner', password: 'pw-env' });
    expect(t.warnings).to.deep.equal([]);
    t = io({}, async (q) => {
      expect(q).to.match(/password for owner/);
      return 'typed';
    });
    expect(await resolveCredentials({ user: 'owner' }, t.io)).to.deep.equal({ username: 'owner', password: 'typed' });
    t = io({ NEARCAST_PASSWORD: 'pw-env' });
    expect(await resolveCredentials({ user: 'owner', password: 'argv' }, t.io)).to.deep.equal({ username: 'owner', password: 'argv' });
    expect(t.warnings.join()).to.match(/visible to other users/);
    expect(await resolveCredentials({}, io({ NEARCAST_PASSWORD: 'x' }).io)).to.deep.equal({});
    await resolveCredentials({ user: 'owner' }, io({}).io).then(
      () => expect.fail('no password'),
      (e) => {
        expect(e).to.be.instanceOf(CredentialError);
        expect(e.message).to.match(/set NEARCAST_PASSWORD/);
      },
    );
  });

  it('names what answers on a port: MQTT, HTTP, the stream, nothing', async () => {
    expect(classifyReply(Buffer.from([0x20, 0x02, 0, 0]))).to.equal('mqtt');
    expect(classifyReply(Buffer.from('HTTP/1.1 400 Bad Request\r\n'))).to.equal('http');
    const http = net.createServer((s) => s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    const port = (http.address() as net.AddressInfo).port;
    const r = await probePort('127.0.0.1', port);
    expect(r.kind).to.equal('http');
    expect(explainProbe('127.0.0.1', port, r)).to.equal(
      `127.0.0.1:${port} is the box's HTTP port (the web companion: open http://127.0.0.1:${port}/ in a browser); the MQTT port is 1883 unless the box was started with --mqtt-port`,
    );
    await new Promise<void>((r2) => http.close(() => r2()));
    const refused = await probePort('127.0.0.1', port);
    expect(refused.kind).to.equal('refused');
    expect(explainProbe('127.0.0.1', port, refused)).to.match(/nothing listens on 127\.0\.0\.1:\d+/);
  });

  it('a saved queue keeps only tracks the library still has, and is dropped when none are left', () => {
    const known = (id: string) => ['b', 'd'].includes(id);
    expect(keepKnownTracks({ version: 1, items: ['a', 'b', 'c', 'd'], index: 2, repeat: 'all' }, known)).to.deep.equal({ version: 1, items: ['b', 'd'], index: 1, repeat: 'all' });
    expect(keepKnownTracks({ version: 1, items: ['a', 'b', 'c', 'd'], index: 1, repeat: 'all' }, known)).to.deep.equal({ version: 1, items: ['b', 'd'], index: 0, repeat: 'all' });
    expect(keepKnownTracks({ version: 1, items: ['a', 'c'], index: 0, repeat: 'all' }, known)).to.equal(null);
  });
});
