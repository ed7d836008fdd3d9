import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../contract/project';
import { catalog } from '../../functions/events/catalog';
import { eventJsonSchemas } from '../../functions/events/json-schemas';

/**
 * `npm run schemas`: writes functions/events/schemas/<Type>.v<N>.json from the event catalog (and
 * removes schemas of types or versions the catalog no longer declares). The contract test only
 * compares the files with the catalog and says to run this when they differ.
 */

/** Where the catalog's JSON Schemas live, from the project root. */
export const SCHEMAS_DIR = join('functions', 'events', 'schemas');

const HELP = `Usage: npm run schemas

Writes the JSON Schema of every event type and version of the catalog (functions/events/catalog.ts)
to ${SCHEMAS_DIR}/, removes the files of types or versions it no longer declares, and formats them
with Biome. Run it after registering a new version; commit the files with the catalog change.`;

function main(argv: ReadonlyArray<string>): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  if (argv.length > 0) {
    console.error(`schemas takes no arguments (given ${argv.join(' ')})\n\n${HELP}`);
    return 2;
  }
  const dir = join(PROJECT_ROOT, SCHEMAS_DIR);
  const schemas = eventJsonSchemas(catalog);
  const stale = readdirSync(dir).filter(
    (name) => name.endsWith('.json') && !schemas.some((s) => s.fileName === name),
  );
  for (const name of stale) rmSync(join(dir, name));
  for (const { fileName, schema } of schemas)
    writeFileSync(join(dir, fileName), `${JSON.stringify(schema, null, 2)}\n`);
  // Same layout as the rest of the repository, so that `npm run lint` stays clean.
  execFileSync(join(PROJECT_ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', dir], {
    stdio: 'ignore',
  });
  console.log(
    `Wrote ${schemas.length} schemas to ${SCHEMAS_DIR}/${stale.length > 0 ? `, removed ${stale.join(', ')}` : ''}.`,
  );
  return 0;
}

process.exit(main(process.argv.slice(2)));
