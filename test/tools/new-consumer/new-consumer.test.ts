/**
 * `npm run new:consumer`, always on a temporary copy of the project (contract/, functions/, lib/,
 * the test fixtures, the TypeScript config, node_modules linked): the scaffold writes the consumer,
 * its test and one registry entry, and nothing else; what it writes compiles, passes Biome, and
 * the generated test passes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONSUMER_NAME_LENGTH } from '../../../contract/consumer-name';
import { catalog } from '../../../functions/events/catalog';
import { helpText, run } from '../../../tools/new-consumer/main';
import {
  planConsumer,
  REGISTRY_FILE,
  REGISTRY_MARKER,
  ScaffoldError,
  writePlan,
} from '../../../tools/new-consumer/scaffold';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
/** What a copy of the project needs for the scaffold, the compiler and the generated tests. */
const COPIED = [
  'contract',
  'functions',
  'lib',
  'test/contract',
  'test/support',
  'tsconfig.json',
  'package.json',
];

/** A temporary copy of the project; `registry` changes its consumer registry first. */
function temporaryProject(registry: (text: string) => string = (text) => text): string {
  const root = mkdtempSync(join(tmpdir(), 'new-consumer-'));
  for (const path of COPIED) cpSync(join(ROOT, path), join(root, path), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  writeFileSync(join(root, REGISTRY_FILE), registry(readFileSync(join(ROOT, REGISTRY_FILE), 'utf8')));
  return root;
}

/** Every file of a copy (not node_modules) with its content, to prove what was written. */
function snapshot(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.name === 'node_modules') continue;
      if (entry.isDirectory()) walk(path);
      else files[path] = readFileSync(join(root, path), 'utf8');
    }
  };
  walk('');
  return files;
}

/** What changed between two snapshots. */
function changes(before: Record<string, string>, after: Record<string, string>) {
  return {
    added: Object.keys(after)
      .filter((path) => !(path in before))
      .sort(),
    changed: Object.keys(after)
      .filter((path) => path in before && before[path] !== after[path])
      .sort(),
    removed: Object.keys(before)
      .filter((path) => !(path in after))
      .sort(),
  };
}

/** Runs the tool on a project; returns the exit code and what it printed. */
function newConsumer(root: string, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = run(argv, { root, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Lines the tool added to the registry, and the line that follows them. */
function addedToRegistry(root: string): { added: string[]; next: string | undefined } {
  const before = readFileSync(join(ROOT, REGISTRY_FILE), 'utf8').split('\n');
  const after = readFileSync(join(root, REGISTRY_FILE), 'utf8').split('\n');
  const first = after.findIndex((line, index) => line !== before[index]);
  const added = after.slice(first, first + after.length - before.length);
  return { added, next: after[first + added.length] };
}

/** A node tool of the project's node_modules, run with this Node from `cwd`. */
function nodeTool(cwd: string, script: string, args: ReadonlyArray<string>) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST') && name !== 'FORCE_COLOR'),
  );
  const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', script), ...args], {
    cwd,
    env: {
      ...env,
      NO_COLOR: '1',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_TRACE_ENABLED: 'false',
    },
    encoding: 'utf8',
    timeout: 50_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

// The scaffold never runs on the worktree: its registry and consumers are the same before and after.
const worktreeBefore = {
  registry: readFileSync(join(ROOT, REGISTRY_FILE), 'utf8'),
  consumers: readdirSync(join(ROOT, 'functions/consumers')),
  tests: readdirSync(join(ROOT, 'test/functions/consumers')),
};
afterAll(() => {
  expect(readFileSync(join(ROOT, REGISTRY_FILE), 'utf8')).toBe(worktreeBefore.registry);
  expect(readdirSync(join(ROOT, 'functions/consumers'))).toEqual(worktreeBefore.consumers);
  expect(readdirSync(join(ROOT, 'test/functions/consumers'))).toEqual(worktreeBefore.tests);
});

describe('npm run new:consumer', () => {
  let root: string;
  beforeEach(() => {
    root = temporaryProject();
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('prints its usage with --help and writes nothing', () => {
    // Arrange
    const before = snapshot(root);

    // Act
    const result = newConsumer(root, '--help');

    // Assert
    expect(result.code).toBe(0);
    expect(result.out).toContain('npm run new:consumer -- <name> --events <Type>[,<Type>...]');
    expect(result.out).toContain('--ordered');
    expect(result.out).toContain('--start-position');
    expect(result.out).toContain(catalog.types.join(', '));
    expect(snapshot(root)).toEqual(before);
  });

  it('runs as the npm script entry point', () => {
    // Act
    const output = execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'tools/new-consumer/main.ts', '--help'],
      { cwd: ROOT, encoding: 'utf8' },
    );

    // Assert
    expect(output.trim()).toBe(helpText().trim());
  });

  it('adds the entry above the marker, writes the consumer and its test, and nothing else (not the stack)', () => {
    // Arrange
    const before = snapshot(root);

    // Act
    const result = newConsumer(root, 'order-emails', '--events', 'OrderPlaced,OrderCancelled');

    // Assert
    expect(result.code).toBe(0);
    expect(changes(before, snapshot(root))).toEqual({
      added: ['functions/consumers/order-emails.ts', 'test/functions/consumers/order-emails.test.ts'],
      changed: [REGISTRY_FILE],
      removed: [],
    });
    expect(addedToRegistry(root)).toEqual({
      added: [
        "  { name: 'order-emails', kind: 'unordered', eventTypes: ['OrderPlaced', 'OrderCancelled'] },",
      ],
      next: `  ${REGISTRY_MARKER}`,
    });
    const source = readFileSync(join(root, 'functions/consumers/order-emails.ts'), 'utf8');
    expect(source).toContain("import { createConsumer, defineConsumer } from '../consumer-kit';");
    expect(source).toContain(
      "export const consumer = defineConsumer('order-emails', {\n  async handle(event, { store }) {",
    );
    expect(source).not.toContain('handles:');
    expect(source).toContain("case 'OrderCancelled':");
    expect(source).toContain('export const handler = createConsumer(consumer);');
    const test = readFileSync(join(root, 'test/functions/consumers/order-emails.test.ts'), 'utf8');
    expect(test).toContain("import { consumer } from '../../../functions/consumers/order-emails';");
    expect(test).toContain("typedFixture('OrderPlaced')");
    expect(test).toContain("typedFixture('OrderCancelled')");
    expect(result.out).toContain('Created functions/consumers/order-emails.ts');
    expect(result.out).toContain(`Registered in ${REGISTRY_FILE}:`);
  });

  it('lays a registry entry out over several lines when one line would be wider than Biome allows', () => {
    // Act
    newConsumer(root, 'order-emails', '--events', 'OrderPlaced,OrderItemAdded,OrderConfirmed,OrderCancelled');

    // Assert
    expect(addedToRegistry(root).added).toEqual([
      '  {',
      "    name: 'order-emails',",
      "    kind: 'unordered',",
      "    eventTypes: ['OrderPlaced', 'OrderItemAdded', 'OrderConfirmed', 'OrderCancelled'],",
      '  },',
    ]);
  });

  it('scaffolds an ordered consumer of every catalog type, starting at the earliest event by default', () => {
    // Act
    const result = newConsumer(root, 'order-audit', '--ordered');

    // Assert
    expect(result.code).toBe(0);
    expect(addedToRegistry(root).added).toEqual([
      "  { name: 'order-audit', kind: 'ordered', startPosition: 'earliest' },",
    ]);
    const source = readFileSync(join(root, 'functions/consumers/order-audit.ts'), 'utf8');
    expect(source).toContain(`  handles: [${catalog.types.map((t) => `'${t}'`).join(', ')}],`);
    expect(result.out).toContain('npm run outbox -- backfill --consumer order-audit');
  });

  it('narrows an ordered consumer to the event types given, and takes --start-position first-seen', () => {
    // Act
    const result = newConsumer(
      root,
      'order-alerts',
      '--ordered',
      '--events',
      'OrderPlaced',
      '--start-position',
      'first-seen',
    );

    // Assert
    expect(result.code).toBe(0);
    expect(addedToRegistry(root).added).toEqual([
      "  { name: 'order-alerts', kind: 'ordered', startPosition: 'first-seen' },",
    ]);
    expect(readFileSync(join(root, 'functions/consumers/order-alerts.ts'), 'utf8')).toContain(
      "  handles: ['OrderPlaced'],",
    );
    expect(result.out).not.toContain('backfill');
  });
});

describe('requests the scaffold refuses, writing nothing', () => {
  let root: string;
  beforeEach(() => {
    root = temporaryProject();
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it.each([
    'OrderEmails',
    'order_emails',
    'order--emails',
    'order-emails-',
    '1-emails',
    'x',
    'a'.repeat(CONSUMER_NAME_LENGTH.max + 1),
  ])('refuses the name %j, saying the rule and what was given, exit 1', (name) => {
    // Arrange
    const before = snapshot(root);

    // Act
    const result = newConsumer(root, name, '--events', 'OrderPlaced');
    const plan = () => planConsumer({ name, ordered: false, events: ['OrderPlaced'] }, root);

    // Assert
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      `new:consumer: a consumer name must be kebab-case, 2 to 40 characters: lowercase words of letters and digits joined by single dashes, starting with a letter, such as order-emails (given ${JSON.stringify(name)})`,
    );
    expect(plan).toThrow(ScaffoldError);
    expect(snapshot(root)).toEqual(before);
  });

  it('takes a name of the longest length allowed', () => {
    // Act
    const result = newConsumer(root, 'a'.repeat(CONSUMER_NAME_LENGTH.max), '--ordered');

    // Assert
    expect(result.code).toBe(0);
  });

  it('refuses unknown event types, listing the catalog', () => {
    // Arrange
    const before = snapshot(root);

    // Act
    const result = newConsumer(root, 'order-emails', '--events', 'OrderPlaced,OrderShipped,OrderLost');

    // Assert
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      `new:consumer: unknown event types OrderShipped, OrderLost: the catalog (functions/events/catalog.ts) has ${catalog.types.join(', ')}`,
    );
    expect(snapshot(root)).toEqual(before);
  });

  it('refuses an unordered consumer that names no event types, and --start-position without --ordered', () => {
    // Act
    const noEvents = newConsumer(root, 'order-emails');
    const startPosition = newConsumer(
      root,
      'order-emails',
      '--events',
      'OrderPlaced',
      '--start-position',
      'earliest',
    );

    // Assert
    expect(noEvents.code).toBe(1);
    expect(noEvents.err).toBe(
      `new:consumer: say which event types the consumer handles with --events (known: ${catalog.types.join(', ')}), or make it --ordered`,
    );
    expect(startPosition.code).toBe(1);
    expect(startPosition.err).toContain('--start-position is for ordered consumers (--ordered)');
  });

  it.each([
    [['order-emails', '--event', 'OrderPlaced'], "new:consumer: Unknown option '--event'"],
    [[], 'new:consumer: give the consumer a name, such as order-emails'],
    [['a-b', 'c-d', '--ordered'], 'new:consumer: one name only (given a-b, c-d)'],
    [
      ['order-audit', '--ordered', '--start-position', 'latest'],
      'new:consumer: --start-position must be earliest or first-seen (given "latest")',
    ],
  ])('treats %j as a usage error, exit 2, pointing at --help', (argv, message) => {
    // Arrange
    const before = snapshot(root);

    // Act
    const result = newConsumer(root, ...argv);

    // Assert
    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
    expect(result.err).toContain('Run with --help for usage.');
    expect(snapshot(root)).toEqual(before);
  });

  it('refuses a consumer whose file exists', () => {
    // Arrange
    expect(newConsumer(root, 'order-emails', '--events', 'OrderPlaced').code).toBe(0);
    const before = snapshot(root);

    // Act
    const again = newConsumer(root, 'order-emails', '--events', 'OrderCancelled');

    // Assert
    expect(again.code).toBe(1);
    expect(again.err).toBe(
      'new:consumer: functions/consumers/order-emails.ts already exists: choose another name (nothing was written)',
    );
    expect(snapshot(root)).toEqual(before);
  });

  it('refuses a name the registry declares, even without its file', () => {
    // Arrange
    rmSync(root, { recursive: true, force: true });
    root = temporaryProject((text) =>
      text.replace(
        REGISTRY_MARKER,
        `{ name: 'order-audit', kind: 'ordered', startPosition: 'earliest' },\n  ${REGISTRY_MARKER}`,
      ),
    );
    const before = snapshot(root);

    // Act
    const result = newConsumer(root, 'order-audit', '--ordered');

    // Assert
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      `new:consumer: ${REGISTRY_FILE} already declares order-audit: choose another name (nothing was written)`,
    );
    expect(snapshot(root)).toEqual(before);
  });

  it.each([
    [
      'has no marker line',
      (text: string) => text.replace(`  ${REGISTRY_MARKER}\n`, ''),
      `has no "${REGISTRY_MARKER}" line: add it as the last line of the CONSUMERS array, then run this again`,
    ],
    [
      'has the marker line twice',
      (text: string) => text.replace(REGISTRY_MARKER, `${REGISTRY_MARKER}\n  ${REGISTRY_MARKER}`),
      `has the "${REGISTRY_MARKER}" line 2 times; keep one`,
    ],
  ])('refuses when the registry %s', (_case, registry, message) => {
    // Arrange
    rmSync(root, { recursive: true, force: true });
    root = temporaryProject(registry);
    const before = snapshot(root);

    // Act
    const result = newConsumer(root, 'order-emails', '--events', 'OrderPlaced');

    // Assert
    expect(result.code).toBe(1);
    expect(result.err).toContain(`new:consumer: ${REGISTRY_FILE} ${message}`);
    expect(result.err).toContain('(nothing was written)');
    expect(snapshot(root)).toEqual(before);
  });

  it('undoes what it placed when a write fails half way', () => {
    // Arrange: a plan, and a test file that appears after planning.
    const plan = planConsumer({ name: 'order-emails', ordered: false, events: ['OrderPlaced'] }, root);
    mkdirSync(join(root, 'test/functions/consumers'), { recursive: true });
    writeFileSync(join(root, 'test/functions/consumers/order-emails.test.ts'), '// someone else\n');
    const before = snapshot(root);

    // Act
    const write = () => writePlan(plan, root);

    // Assert
    expect(write).toThrow(ScaffoldError);
    expect(write).toThrow(
      'test/functions/consumers/order-emails.test.ts appeared while writing: nothing was written',
    );
    expect(snapshot(root)).toEqual(before);
    expect(existsSync(join(root, 'functions/consumers/order-emails.ts'))).toBe(false);
  });
});

describe('the generated code', () => {
  /** One copy with an unordered and an ordered consumer scaffolded. */
  let root: string;
  const generated = [
    'functions/consumers/order-emails.ts',
    'test/functions/consumers/order-emails.test.ts',
    'functions/consumers/order-audit.ts',
    'test/functions/consumers/order-audit.test.ts',
  ];

  beforeAll(() => {
    root = temporaryProject();
    expect(newConsumer(root, 'order-emails', '--events', 'OrderPlaced,OrderCancelled').code).toBe(0);
    expect(newConsumer(root, 'order-audit', '--ordered').code).toBe(0);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('compiles against the kit, the catalog and the registry with its new entries', () => {
    // Arrange
    writeFileSync(
      join(root, 'tsconfig.scaffold.json'),
      JSON.stringify({ extends: './tsconfig.json', include: [], files: generated }),
    );

    // Act
    const tsc = nodeTool(root, 'typescript/bin/tsc', ['-p', 'tsconfig.scaffold.json']);

    // Assert
    expect(tsc.output).toBe('');
    expect(tsc.status).toBe(0);
  });

  it('is left as it is by Biome', () => {
    // Arrange
    const contents = generated.map((path) => [path, readFileSync(join(root, path), 'utf8')] as const);

    // Act
    const checked = contents.map(([path, content]) => ({
      path,
      content,
      formatted: execFileSync(
        join(ROOT, 'node_modules/.bin/biome'),
        ['check', '--write', `--stdin-file-path=${path}`],
        {
          cwd: ROOT,
          input: content,
          encoding: 'utf8',
        },
      ),
    }));

    // Assert
    for (const { path, content, formatted } of checked) expect(formatted, path).toBe(content);
  });

  it("has tests that pass: the ordered consumer's, one per catalog type, and the unordered one's", () => {
    // Arrange
    writeFileSync(
      join(root, 'vitest.scaffold.config.ts'),
      "import { defineConfig } from 'vitest/config';\nexport default defineConfig({ cacheDir: '.vitest-cache', test: { include: ['test/functions/consumers/order-*.test.ts'] } });\n",
    );

    // Act
    const vitest = nodeTool(root, 'vitest/vitest.mjs', [
      'run',
      '--root',
      root,
      '--config',
      'vitest.scaffold.config.ts',
      'test/functions/consumers/order-audit.test.ts',
      'test/functions/consumers/order-emails.test.ts',
    ]);

    // Assert
    expect(vitest.status, vitest.output).toBe(0);
    expect(vitest.output).toMatch(
      new RegExp(`test/functions/consumers/order-audit\\.test\\.ts \\(${catalog.types.length} tests\\)`),
    );
    expect(vitest.output).toMatch(/test\/functions\/consumers\/order-emails\.test\.ts \(2 tests\)/);
    expect(vitest.output).toMatch(new RegExp(`Tests\\s+${catalog.types.length + 2} passed`));
  });
});
