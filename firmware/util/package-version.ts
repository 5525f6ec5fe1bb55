import fs from 'node:fs';
import path from 'node:path';

/** our package.json's version, found upwards from this module (the sources, or the bundle in dist/firmware/) */
export function packageVersion(): string {
  for (let dir = path.dirname(new URL(import.meta.url).pathname), i = 0; i < 4; dir = path.dirname(dir), i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'nearcast' && pkg.version) return pkg.version;
    } catch {
      /* not here */
    }
  }
  return 'unknown';
}
