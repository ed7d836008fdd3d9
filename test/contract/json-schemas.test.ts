import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../contract/project';
import { catalog } from '../../functions/events/catalog';
import { eventJsonSchemas } from '../../functions/events/json-schemas';

const SCHEMAS_DIR = join(PROJECT_ROOT, 'functions/events/schemas');
/** The command that rewrites functions/events/schemas/ from the catalog (the test only compares). */
const REGENERATE = 'npm run schemas';
const schemas = eventJsonSchemas(catalog);

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
