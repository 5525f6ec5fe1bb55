// What an installed tree's node_modules holds, judged by the lockfile: npm marks a
// package `"dev": true` there when only development dependencies need it. A
// devDependency that a production package also needs (mqtt needs @types/ws) is not
// marked, and rightly stays.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Every package under `<appDir>/node_modules`, nested ones too, named as the lockfile names them (node_modules/a/node_modules/@s/b). */
export function installedPackages(appDir: string): string[] {
  const found: string[] = [];
  const walk = (relativeDir: string, depth: number): void => {
    const dir = path.join(appDir, relativeDir);
    if (depth > 16 || !existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      if (entry.startsWith('.')) continue; // .bin, .package-lock.json
      const names = entry.startsWith('@') ? readdirSync(path.join(dir, entry)).map((inner) => `${entry}/${inner}`) : [entry];
      for (const name of names) {
        const pkg = `${relativeDir}/${name}`;
        found.push(pkg);
        walk(`${pkg}/node_modules`, depth + 1);
      }
    }
  };
  walk('node_modules', 0);
  return found;
}

/** Installed packages the lockfile says only development needs, or does not list at all. */
export function developmentOnlyPackages(appDir: string, lockFile: string): string[] {
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return installedPackages(appDir)
    .filter((pkg) => {
      const entry = lock.packages[pkg];
      return entry === undefined || entry.dev === true;
    })
    .map((pkg) => (lock.packages[pkg] ? pkg : `${pkg} (not in the lockfile)`));
}
