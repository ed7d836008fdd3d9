import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { catalog } from '../../../functions/events/catalog';
import { helpText, run } from '../../../tools/new-consumer/main';
import {
  planConsumer,
  ScaffoldError,
  STACK_FILE,
  STACK_MARKER,
  writePlan,
} from '../../../tools/new-consumer/scaffold';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * A temporary copy of what the tool reads and writes: the stack (with the marker, added after
 * the example consumers if the real stack does not have it yet) and an existing consumer.
 */
function temporaryProject(options: { marker?: boolean } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'new-consumer-'));
  for (const dir of ['lib', 'functions/consumers', 'test/functions/consumers'])
    mkdirSync(join(root, dir), { recursive: true });
  cpSync(
    join(ROOT, 'functions/consumers/order-projection.ts'),
    join(root, 'functions/consumers/order-projection.ts'),
  );
  let stack = readFileSync(join(ROOT, STACK_FILE), 'utf8');
  if (!stack.includes(STACK_MARKER)) {
    const example = stack.indexOf("entry: 'consumers/order-activity'");
    const end = stack.indexOf('});\n', example);
    if (example < 0 || end < 0) throw new Error(`cannot find where to put the marker in ${STACK_FILE}`);
    stack = `${stack.slice(0, end + 4)}    ${STACK_MARKER}\n${stack.slice(end + 4)}`;
  }
  if (options.marker === false)
    stack = stack
      .split('\n')
      .filter((line) => !line.includes(STACK_MARKER))
      .join('\n');
  writeFileSync(join(root, STACK_FILE), stack);
  return root;
}

/** Every file under a folder with its content, to prove nothing was written. */
function snapshot(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else files[path] = readFileSync(join(root, path), 'utf8');
    }
  };
  walk('');
  return files;
}

/** Runs the tool on a project; returns the exit code and what it printed. */
function newConsumer(root: string, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = run(argv, { root, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Lines the tool added to the stack, with the line that follows them. */
function addedToStack(root: string): { added: string[]; next: string | undefined } {
  const before = readFileSync(join(ROOT, STACK_FILE), 'utf8').split('\n');
  const after = readFileSync(join(root, STACK_FILE), 'utf8').split('\n');
  const index = after.findIndex((line) => line.trim() === STACK_MARKER);
  const added = after.filter((line) => !before.includes(line) && line.trim() !== STACK_MARKER);
  return { added, next: after[index] };
}

/** What Biome would make of a file's content, checked from the project root with its config. */
function biome(path: string, content: string): string {
  return execFileSync(
    join(ROOT, 'node_modules/.bin/biome'),
    ['check', '--write', `--stdin-file-path=${path}`],
    {
      cwd: ROOT,
      input: content,
      encoding: 'utf8',
    },
  );
}

let root: string;
beforeEach(() => {
  root = temporaryProject();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('npm run new:consumer', () => {
  it('prints its usage with --help and writes nothing', () => {
    // Given
    const before = snapshot(root);

    // When
    const result = newConsumer(root, '--help');

    // Then
    expect(result.code).toBe(0);
    expect(result.out).toContain('npm run new:consumer -- <name> --events <Type>[,<Type>...]');
    expect(result.out).toContain('--ordered');
    expect(result.out).toContain(catalog.types.join(', '));
    expect(snapshot(root)).toEqual(before);
  });

  it.each([
    'OrderEmails',
    'order_emails',
    'order--emails',
    'order-emails-',
    '1-emails',
    'x',
    `a${'b'.repeat(63)}`,
  ])('refuses the name %j, saying it must be kebab-case, and writes nothing', (name) => {
    const before = snapshot(root);

    const result = newConsumer(root, name, '--events', 'OrderPlaced');

    expect(result.code).toBe(1);
    expect(result.err).toMatch(/consumer name must be kebab-case, 2 to 63 characters/);
    expect(result.err).toContain(`(given ${JSON.stringify(name)})`);
    expect(snapshot(root)).toEqual(before);
  });

  it('refuses unknown event types, listing the catalog, and writes nothing', () => {
    const before = snapshot(root);

    const result = newConsumer(root, 'order-emails', '--events', 'OrderPlaced,OrderShipped,OrderLost');

    expect(result.code).toBe(1);
    expect(result.err).toBe(
      `new:consumer: unknown event types OrderShipped, OrderLost: the catalog (functions/events/catalog.ts) has ${catalog.types.join(', ')}`,
    );
    expect(snapshot(root)).toEqual(before);
  });

  it('refuses an unordered consumer that names no event types', () => {
    const result = newConsumer(root, 'order-emails');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      /say which event types the consumer handles with --events .* or make it --ordered/,
    );
  });

  it('refuses a usage error with exit code 2', () => {
    expect(newConsumer(root, 'order-emails', '--event', 'OrderPlaced').code).toBe(2);
    expect(newConsumer(root).err).toMatch(/give the consumer a name/);
    expect(newConsumer(root, 'a-b', 'c-d', '--ordered').err).toMatch(/one name only/);
  });

  it('scaffolds an event consumer: the handler, its test, and its registration with the event types', () => {
    // When
    const result = newConsumer(root, 'order-emails', '--events', 'OrderPlaced,OrderCancelled');

    // Then the consumer declares what it handles, built on the kit
    expect(result.code).toBe(0);
    const source = readFileSync(join(root, 'functions/consumers/order-emails.ts'), 'utf8');
    expect(source).toContain("import { createConsumer, defineConsumer } from './kit';");
    expect(source).toContain(
      "name: 'order-emails',\n  ordered: false,\n  handles: ['OrderPlaced', 'OrderCancelled'],",
    );
    expect(source).toContain("case 'OrderCancelled':");
    expect(source).not.toContain('skip');
    // And its test replays the catalog's fixtures
    const test = readFileSync(join(root, 'test/functions/consumers/order-emails.test.ts'), 'utf8');
    expect(test).toContain("import { consumer } from '../../../functions/consumers/order-emails';");
    expect(test).toContain("typedFixture('OrderPlaced')");
    expect(test).toContain("typedFixture('OrderCancelled')");
    // And the stack registers it once, right above the marker, at the marker's indentation
    expect(addedToStack(root)).toEqual({
      added: [
        "    this.addEventConsumer('OrderEmails', {",
        "      entry: 'consumers/order-emails',",
        "      detailTypes: ['OrderPlaced', 'OrderCancelled'],",
      ],
      next: `    ${STACK_MARKER}`,
    });
    expect(result.out).toContain('Created functions/consumers/order-emails.ts');
  });

  it('registers a consumer in one line when the line fits', () => {
    newConsumer(root, 'order-emails', '--events', 'OrderPlaced');
    expect(addedToStack(root).added).toEqual([
      "    this.addEventConsumer('OrderEmails', { entry: 'consumers/order-emails', detailTypes: ['OrderPlaced'] });",
    ]);
  });

  it('scaffolds an ordered consumer of every catalog type, with a skip path and no detail types', () => {
    const result = newConsumer(root, 'order-audit', '--ordered');

    expect(result.code).toBe(0);
    const source = readFileSync(join(root, 'functions/consumers/order-audit.ts'), 'utf8');
    expect(source).toContain('ordered: true,');
    expect(source).toContain(`handles: [${catalog.types.map((t) => `'${t}'`).join(', ')}],`);
    expect(source).toContain('async skip(_event, { logger }) {');
    expect(readFileSync(join(root, 'test/functions/consumers/order-audit.test.ts'), 'utf8')).toContain(
      'consumer.skip(event, consumerContext(event))',
    );
    expect(addedToStack(root).added).toEqual([
      "    this.addOrderedConsumer('OrderAudit', { entry: 'consumers/order-audit' });",
    ]);
  });

  it('narrows an ordered consumer to the event types given', () => {
    newConsumer(root, 'order-audit', '--ordered', '--events', 'OrderPlaced');
    const source = readFileSync(join(root, 'functions/consumers/order-audit.ts'), 'utf8');
    expect(source).toContain("handles: ['OrderPlaced'],");
    expect(readFileSync(join(root, 'test/functions/consumers/order-audit.test.ts'), 'utf8')).toContain(
      "eventFixture('OrderItemAdded')",
    );
  });

  it('refuses to scaffold a consumer that exists, leaving everything as it was', () => {
    // Given a consumer scaffolded once
    expect(newConsumer(root, 'order-emails', '--events', 'OrderPlaced').code).toBe(0);
    const before = snapshot(root);

    // When it is asked for again
    const again = newConsumer(root, 'order-emails', '--events', 'OrderCancelled');

    // Then
    expect(again.code).toBe(1);
    expect(again.err).toBe(
      'new:consumer: functions/consumers/order-emails.ts already exists: choose another name (nothing was written)',
    );
    expect(snapshot(root)).toEqual(before);
  });

  it('refuses the name of an existing consumer file', () => {
    const result = newConsumer(root, 'order-projection', '--ordered');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/functions\/consumers\/order-projection.ts already exists/);
  });

  it('refuses, naming the marker, when the stack does not have it', () => {
    // Given a stack without the marker
    rmSync(root, { recursive: true, force: true });
    root = temporaryProject({ marker: false });
    const before = snapshot(root);

    // When
    const result = newConsumer(root, 'order-emails', '--events', 'OrderPlaced');

    // Then
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      `new:consumer: ${STACK_FILE} has no "${STACK_MARKER}" marker: add that comment on its own line in the stack's constructor, after the example consumers, then run this again (nothing was written)`,
    );
    expect(snapshot(root)).toEqual(before);
  });

  it('writes files that Biome leaves as they are', () => {
    newConsumer(root, 'order-emails', '--events', 'OrderPlaced,OrderItemAdded,OrderConfirmed,OrderCancelled');
    newConsumer(root, 'order-audit', '--ordered', '--events', 'OrderPlaced');
    for (const path of [
      'functions/consumers/order-emails.ts',
      'test/functions/consumers/order-emails.test.ts',
      'functions/consumers/order-audit.ts',
      'test/functions/consumers/order-audit.test.ts',
    ]) {
      const content = readFileSync(join(root, path), 'utf8');
      expect(biome(path, content), path).toBe(content);
    }
  });

  it('undoes what it placed when a write fails half way', () => {
    // Given a plan, and a test file that appears after planning
    const plan = planConsumer({ name: 'order-emails', ordered: false, events: ['OrderPlaced'] }, root);
    writeFileSync(join(root, 'test/functions/consumers/order-emails.test.ts'), '// someone else\n');
    const before = snapshot(root);

    // When / Then
    expect(() => writePlan(plan, root)).toThrow(ScaffoldError);
    expect(snapshot(root)).toEqual(before);
    expect(existsSync(join(root, 'functions/consumers/order-emails.ts'))).toBe(false);
  });

  it('runs as the npm script entry point', () => {
    const output = execFileSync(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['tools/new-consumer/main.ts', '--help'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    expect(output.trim()).toBe(helpText().trim());
  });
});
