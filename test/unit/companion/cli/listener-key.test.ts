import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listenerKeyFor } from '../../../../companion/cli/listener-key.ts';

describe('the companion listener key (one secret per box, kept in the config folder)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nearcast-key-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const env = () => ({ XDG_CONFIG_HOME: dir });
  const file = () => path.join(dir, 'nearcast', 'listener-keys.json');

  it('is made once per box, random, kept 0600 in a 0700 folder, and the same on the next run', () => {
    const a = listenerKeyFor('shop', env());
    expect(a).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(listenerKeyFor('shop', env()), 'the same key next time').to.equal(a);
    const b = listenerKeyFor('home', env());
    expect(b)
      .to.match(/^[A-Za-z0-9_-]{43}$/)
      .and.not.equal(a);
    expect(JSON.parse(readFileSync(file(), 'utf8'))).to.deep.equal({ shop: a, home: b });
    expect(statSync(file()).mode & 0o777).to.equal(0o600);
    expect(statSync(path.dirname(file())).mode & 0o777).to.equal(0o700);
  });

  it('a damaged file or entry is replaced by a new key; a box id like __proto__ is only a name', () => {
    mkdirSync(path.dirname(file()), { recursive: true });
    writeFileSync(file(), '{"shop":"short","__proto__":{"x":1}}');
    const k = listenerKeyFor('shop', env());
    expect(k).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(listenerKeyFor('__proto__', env())).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(listenerKeyFor('shop', env())).to.equal(k);
  });

  it('where it cannot be kept: null and a warning saying so (the join goes without a key)', () => {
    // the config "folder" is a file: no user, root included, can make a folder in it
    writeFileSync(path.join(dir, 'plain-file'), 'x');
    const warnings: string[] = [];
    expect(listenerKeyFor('shop', { XDG_CONFIG_HOME: path.join(dir, 'plain-file') }, (l) => warnings.push(l))).to.equal(null);
    expect(warnings.join()).to.match(/cannot keep a listener key/);
  });
});
