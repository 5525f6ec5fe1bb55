import { expect } from 'chai';
import * as AjvModule from 'ajv';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigSchema, SCHEMA_FILE, fileSchemaText } from '../../../../firmware/config/config-schema.ts';
import { loadConfig, type BoxConfig } from '../../../../firmware/config/config.ts';

// compile-time checks: the loaded configuration's type is the schema's (tsc fails on a drift)
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const typeChecks: Array<true> = [
  true satisfies Equal<BoxConfig['boxId'], string>,
  true satisfies Equal<BoxConfig['stream']['chunkMs'], 10 | 20 | 40>,
  true satisfies Equal<BoxConfig['stream']['codecs'], Array<'opus' | 'pcm'>>,
  true satisfies Equal<BoxConfig['permissions']['control'], 'owner' | 'listeners' | 'nobody'>,
  true satisfies Equal<BoxConfig['owner']['passwordHash'], string | null>,
  true satisfies Equal<BoxConfig['hardware']['leds']['map'], { share?: number; status?: number }>,
  true satisfies Equal<BoxConfig['wifi']['dhcp'], boolean>,
  true satisfies Equal<BoxConfig['programme']['timeZone'], string | null>,
  true satisfies Equal<BoxConfig['programme']['playlists'][number]['order'], 'shuffle' | 'sequential' | 'random'>,
  true satisfies Equal<BoxConfig['programme']['interstitials'][number]['atMinute'], number | undefined>,
];
void typeChecks; // checked by tsc, nothing to run

/** Every object schema in `schema` with its JSON pointer. */
function* objectSchemas(schema: unknown, at = ''): Generator<[string, Record<string, unknown>]> {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return;
  const node = schema as Record<string, unknown>;
  if (node.type === 'object') yield [at || '/', node];
  const properties = (node.properties ?? {}) as Record<string, unknown>;
  for (const [name, property] of Object.entries(properties)) yield* objectSchemas(property, `${at}/${name}`);
}

describe('box configuration schema (firmware/config/config-schema.ts → config/schema.json)', () => {
  it('config/schema.json is what config-schema.ts generates (else: make config-schema)', () => {
    const want = fileSchemaText().split('\n');
    const have = readFileSync(SCHEMA_FILE, 'utf8').split('\n');
    const line = want.findIndex((text, i) => text !== have[i]);
    const first = line === -1 && have.length > want.length ? want.length : line;
    expect(
      first,
      first === -1
        ? ''
        : `config/schema.json is out of date (run make config-schema); first difference at line ${first + 1}:\n` +
            `  generated: ${want[first] ?? '(end of file)'}\n  in file:   ${have[first] ?? '(end of file)'}`,
    ).to.equal(-1);
  });

  it('every property the type requires has a default, and the file schema requires nothing', () => {
    const undefaulted: string[] = [];
    for (const [at, node] of objectSchemas(ConfigSchema)) {
      const properties = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
      for (const name of (node.required ?? []) as string[]) if (!('default' in (properties[name] ?? {}))) undefaulted.push(`${at === '/' ? '' : at}/${name}`);
    }
    expect(undefaulted, 'required without a default (a file that leaves them out would load without them)').to.deep.equal([]);
    expect(readFileSync(SCHEMA_FILE, 'utf8')).not.to.include('"required"');
  });

  it('a loaded configuration satisfies the full schema, every required key present', () => {
    const ajv = new AjvModule.Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(ConfigSchema);
    for (const config of [loadConfig(), loadConfig({ file: path.resolve('config/default.yaml') }), loadConfig({ overrides: { hardware: { buttons: { map: { share: 5 } } } } })]) {
      expect(validate(config), JSON.stringify(validate.errors)).to.equal(true);
    }
    expect(validate({}), 'the full schema does require keys').to.equal(false);
  });

  it('the box never loads the schema builder: its code imports the schema modules only as types', () => {
    // the schema is written with TypeBox across these modules; only they may import each other as values
    const schemaModules = ['config-schema', 'programme-schema', 'schema-builders'];
    const imports = new RegExp(`^import [^;]*(${schemaModules.join('|')})\\.ts';$`, 'gm');
    const valueImports: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (/\.ts$/.test(entry.name) && !schemaModules.some((m) => file.endsWith(`config/${m}.ts`))) {
          for (const statement of readFileSync(file, 'utf8').match(imports) ?? []) {
            if (!statement.startsWith('import type ')) valueImports.push(`${file}: ${statement}`);
          }
        }
      }
    };
    for (const dir of ['firmware', 'hardware', 'companion']) walk(path.resolve(dir));
    expect(valueImports, 'TypeBox is a development dependency').to.deep.equal([]);
  });
});
