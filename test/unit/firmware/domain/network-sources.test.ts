// NetworkSources: the owner's changes over the config's stations and servers, checked
// by the config's schema, stored through a real StateStore in a temporary folder.

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openNetworkSources, type NetworkSources, type Station } from '../../../../firmware/domain/network-sources.ts';

describe('NetworkSources (stations and servers the owner changes)', () => {
  let dir: string;
  const logs: string[] = [];
  const configured: Station[] = [
    { name: 'Config FM', url: 'http://127.0.0.1:1/config' },
    { name: 'Other FM', url: 'http://127.0.0.1:1/other' },
  ];
  const open = (): NetworkSources => openNetworkSources({ stateDir: dir, stations: configured, servers: [] }, (_l, m, e) => logs.push(`${m} ${JSON.stringify(e ?? {})}`));

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-network-'));
    logs.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a config station the owner removed stays removed after a restart; one added under its name replaces it; the list says where each comes from', async () => {
    const network = open();
    const told: string[][] = [];
    network.on('stations', (list) => told.push(list.map((s) => s.name)));
    await network.remove('stations', 'Config FM');
    await network.add('stations', { name: 'Owner FM', url: 'http://user:secret@127.0.0.1:1/owner' });
    expect(told).to.deep.equal([['Other FM'], ['Other FM', 'Owner FM']]);
    const again = open();
    expect(again.stations().map((s) => s.name)).to.deep.equal(['Other FM', 'Owner FM']);
    // the URL is kept whole for playing, but never shown with its user:password
    expect(again.stations()[1]!.url).to.equal('http://user:secret@127.0.0.1:1/owner');
    expect(again.list('stations')).to.deep.equal([
      { name: 'Other FM', url: 'http://127.0.0.1:1/other', from: 'config' },
      { name: 'Owner FM', url: 'http://127.0.0.1:1/owner', from: 'owner' },
    ]);
    await again.add('stations', { name: 'Config FM', url: 'http://127.0.0.1:1/new' });
    expect(open().list('stations').at(-1)).to.deep.equal({ name: 'Config FM', url: 'http://127.0.0.1:1/new', from: 'owner' });
  });

  it('a bad entry is refused with the reason and the stored file does not change', async () => {
    const network = open();
    await network.add('stations', { name: 'Kept FM', url: 'http://127.0.0.1:1/kept' });
    const file = path.join(dir, 'network.json');
    const before = readFileSync(file, 'utf8');
    const refused = async (entry: Record<string, unknown>) =>
      network.add('stations', entry).then(
        () => 'accepted',
        (e: Error) => e.message,
      );
    expect(await refused({ name: 'Bad', url: 'file:///etc/passwd' })).to.match(/^station 'Bad': url must match pattern/);
    expect(await refused({ name: 'library', url: 'http://127.0.0.1:1/' })).to.match(/name must match pattern/);
    expect(await refused({ name: 'Kept FM', url: 'http://127.0.0.1:1/' })).to.match(/exists already/);
    expect(
      await network.remove('stations', 'Nope').then(
        () => 'removed',
        (e: Error) => e.message,
      ),
    ).to.equal("no station named 'Nope'; the box has: Config FM, Other FM, Kept FM");
    expect(readFileSync(file, 'utf8')).to.equal(before);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
  });

  it('a saved entry edited by hand into one the config refuses is left out and named in the log', () => {
    writeFileSync(
      path.join(dir, 'network.json'),
      JSON.stringify({
        version: 1,
        stations: [
          { name: 'Edited', url: 'gopher://x' },
          { name: 'Fine FM', url: 'http://127.0.0.1:1/fine' },
        ],
        servers: [],
        removed: { stations: [], servers: [] },
      }),
    );
    expect(
      open()
        .stations()
        .map((s) => s.name),
    ).to.deep.equal(['Config FM', 'Other FM', 'Fine FM']);
    expect(logs.join('\n')).to.match(/a saved station is not valid and is left out .*Edited.*url must match pattern/);
  });

  it('a corrupt file is set aside and the config lists hold', () => {
    writeFileSync(path.join(dir, 'network.json'), '{"version":1,"stations":[{"name":');
    const network = open();
    expect(network.stations().map((s) => s.name)).to.deep.equal(['Config FM', 'Other FM']);
    expect(logs.join('\n')).to.match(/network\.json unreadable/);
  });

  it('a server: opened with its secret, listed without it, searched by the new list', async () => {
    const network = open();
    const told: string[][] = [];
    network.on('servers', (list) => told.push(list.map((s) => s.name)));
    process.env.NC_UNIT_KEY = 'unit-key-value';
    try {
      // nothing answers on port 1: added all the same, and the reply says it is not reachable
      const reply = await network.add('servers', { name: 'nas', url: 'http://127.0.0.1:1', username: 'ann', password: 'unit-pw-value' });
      expect(reply).to.deep.include({ reachable: false });
      expect(reply.server).to.deep.equal({ name: 'nas', url: 'http://127.0.0.1:1', username: 'ann', password: '(hidden)', from: 'owner' });
      await network.add('servers', { name: 'keyed', url: 'http://127.0.0.1:1', apiKeyEnv: 'NC_UNIT_KEY' });
      expect(told).to.deep.equal([['nas'], ['nas', 'keyed']]);
      expect(JSON.stringify(network.list('servers'))).to.not.match(/unit-pw-value|unit-key-value/);
      expect(network.list('servers')[1]).to.deep.equal({ name: 'keyed', url: 'http://127.0.0.1:1', apiKeyEnv: 'NC_UNIT_KEY', from: 'owner' });
      const keyed = open().servers()[1]!;
      expect(keyed.authorize(new URL('http://127.0.0.1:1/rest/ping')).searchParams.get('apiKey')).to.equal('unit-key-value');
      await network.remove('servers', 'nas');
      expect(told.at(-1)).to.deep.equal(['keyed']);
    } finally {
      delete process.env.NC_UNIT_KEY;
    }
  });
});
