import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { catalog } from '../../functions/events/catalog';
import { eventJsonSchemas } from '../../functions/events/json-schemas';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SCHEMAS_DIR = join(ROOT, 'functions/events/schemas');
/** The command that rewrites functions/events/schemas/ from the catalog. */
const REGENERATE = 'UPDATE_EVENT_SCHEMAS=1 npx vitest run test/contract/json-schemas.test.ts';
const schemas = eventJsonSchemas(catalog);

if (process.env.UPDATE_EVENT_SCHEMAS === '1') {
  for (const stale of readdirSync(SCHEMAS_DIR).filter((name) => name.endsWith('.json'))) {
    if (!schemas.some((s) => s.fileName === stale)) rmSync(join(SCHEMAS_DIR, stale));
  }
  for (const { fileName, schema } of schemas) {
    writeFileSync(join(SCHEMAS_DIR, fileName), `${JSON.stringify(schema, null, 2)}\n`);
  }
  // Same layout as the rest of the repository, so that `npm run lint` stays clean.
  execFileSync(join(ROOT, 'node_modules/.bin/biome'), ['format', '--write', SCHEMAS_DIR], {
    stdio: 'ignore',
  });
}

describe('the JSON Schemas of the event catalog', () => {
  it.each(schemas.map((s) => [s.fileName, s.schema] as const))(
    'functions/events/schemas/%s matches the catalog',
    (fileName, schema) => {
      const path = join(SCHEMAS_DIR, fileName);
      expect(
        existsSync(path),
        `functions/events/schemas/${fileName} is missing; regenerate with: ${REGENERATE}`,
      ).toBe(true);
      expect(
        JSON.parse(readFileSync(path, 'utf8')),
        `functions/events/schemas/${fileName} is out of date with the catalog; regenerate with: ${REGENERATE}`,
      ).toEqual(schema);
    },
  );

  it('holds no schema of a type or version the catalog does not declare', () => {
    const files = readdirSync(SCHEMAS_DIR).filter((name) => name.endsWith('.json'));
    expect(
      files.filter((name) => !schemas.some((s) => s.fileName === name)),
      `remove them, or regenerate with: ${REGENERATE}`,
    ).toEqual([]);
  });

  it('describes each version of a type with its own required fields', () => {
    const placed = (version: number) =>
      schemas.find((s) => s.type === 'OrderPlaced' && s.version === version);
    expect(placed(1)?.schema).toMatchObject({
      title: 'OrderPlaced v1',
      required: ['customerId', 'lines', 'total'],
    });
    expect(placed(2)?.schema).toMatchObject({
      title: 'OrderPlaced v2',
      required: ['customerId', 'lines', 'total', 'currency'],
    });
  });
});
