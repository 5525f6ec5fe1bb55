// Where our code depends on a package's insides rather than its published entry
// points, package.json names one exact version: a patch release may move a file or
// change what it holds, and a caret range would take it on the next install.

import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
const ranges: Record<string, string> = { ...manifest.optionalDependencies, ...manifest.devDependencies, ...manifest.dependencies };
const EXACT = /^\d+\.\d+\.\d+(-[\w.]+)?$/;

/** Every module specifier that names a file inside a package (`pkg/lib/x.js`, `@scope/pkg/x`), with where it is. */
function deepImports(): Array<{ pkg: string; subpath: string; file: string }> {
  const found: Array<{ pkg: string; subpath: string; file: string }> = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (/\.(ts|js|mjs)$/.test(entry.name)) {
        // import ... from 'x', import('x'), require('x'), also inside strings a build step writes out
        for (const match of readFileSync(file, 'utf8').matchAll(/(?:from|import\(|require\()\s*['"]((?:@[\w.-]+\/)?[\w.-]+)\/([^'"]+)['"]/g)) {
          const [, pkg, subpath] = match;
          if (pkg && subpath && !pkg.startsWith('.') && !pkg.startsWith('node:')) found.push({ pkg, subpath, file: path.relative(ROOT, file) });
        }
      }
    }
  };
  for (const dir of ['firmware', 'companion', 'hardware']) walk(path.join(ROOT, dir));
  return found;
}

/** Whether `subpath` is one the package publishes in its `exports` map (then it is an entry point, not an inside). */
function published(pkg: string, subpath: string): boolean {
  const pkgJson = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { exports?: unknown };
  return typeof pkgJson.exports === 'object' && pkgJson.exports !== null && `./${subpath}` in pkgJson.exports;
}

function installedVersion(pkg: string): string {
  return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

describe('dependencies whose insides we use are pinned', () => {
  it('a package imported by an inner file path is pinned to the exact version installed', () => {
    const inner = deepImports().filter(({ pkg, subpath }) => !published(pkg, subpath));
    expect(
      inner.map(({ pkg }) => pkg),
      'the scan finds the inner paths we know of',
    ).to.include.members(['opusscript', 'systeminformation']);
    const loose = inner
      .filter(({ pkg }) => !EXACT.test(ranges[pkg] ?? '') || ranges[pkg] !== installedVersion(pkg))
      .map(({ pkg, subpath, file }) => `${file} imports ${pkg}/${subpath}: package.json has ${JSON.stringify(ranges[pkg])}, installed ${installedVersion(pkg)}`);
    expect(loose).to.deep.equal([]);
  });

  it("mqtt-packet, whose number cache the controller turns off for aedes, is pinned and is aedes's own copy", () => {
    // the setting reaches aedes only if aedes loads the very module we import
    expect(ranges['mqtt-packet']).to.match(EXACT);
    expect(ranges['mqtt-packet']).to.equal(installedVersion('mqtt-packet'));
    const ours = createRequire(path.join(ROOT, 'firmware/controller.ts')).resolve('mqtt-packet');
    const aedesRequire = createRequire(createRequire(import.meta.url).resolve('aedes'));
    expect(aedesRequire.resolve('mqtt-packet'), 'aedes resolves another mqtt-packet (a nested copy): align the pinned version with aedes').to.equal(ours);
  });
});
