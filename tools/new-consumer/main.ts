import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../contract/project';
import { catalog } from '../../functions/events/catalog';
import { planConsumer, REGISTRY_FILE, REGISTRY_MARKER, ScaffoldError, writePlan } from './scaffold';

/** Where the tool writes and what it prints to. */
export interface RunOptions {
  /** @default the project this file belongs to */
  readonly root?: string;
  readonly out?: (line: string) => void;
  readonly err?: (line: string) => void;
}

/** `npm run new:consumer -- --help` */
export function helpText(): string {
  return `Scaffolds a consumer: its handler on the consumer kit, a unit test on the catalog's fixtures,
and its entry in the consumer registry (${REGISTRY_FILE}), from which the stack deploys it.

Usage:
  npm run new:consumer -- <name> --events <Type>[,<Type>...]   unordered: an EventBridge rule on those types
  npm run new:consumer -- <name> --ordered [--events <Types>]  ordered: its own FIFO queue fed by the relay,
                                                               each aggregate's events applied in order
                                                               (handles every type unless --events narrows it;
                                                               the others still take their place in the order)

  <name>            kebab-case, such as order-emails: functions/consumers/<name>.ts, construct id OrderEmails
  --events          event types of the catalog, comma-separated: ${catalog.types.join(', ')}
  --ordered         per-aggregate order (FIFO queue fed by the relay)
  --start-position  ordered only: earliest (default: every aggregate from its first event; added to a
                    running system, run \`npm run outbox -- backfill --consumer <name>\` after deploying)
                    or first-seen (start each aggregate at the first event that arrives)
  -h, --help        this text

Writes functions/consumers/<name>.ts, test/functions/consumers/<name>.test.ts and adds the entry
above "${REGISTRY_MARKER}" in ${REGISTRY_FILE}, all or nothing.

Examples:
  npm run new:consumer -- order-emails --events OrderPlaced,OrderCancelled
  npm run new:consumer -- order-audit --ordered
  npm run new:consumer -- order-alerts --ordered --start-position first-seen
`;
}

/**
 * Runs the tool with command-line arguments; returns the exit code (0 done, 1 refused, 2 usage).
 *
 * @example
 * process.exitCode = run(['order-emails', '--events', 'OrderPlaced']);
 */
export function run(argv: ReadonlyArray<string>, options: RunOptions = {}): number {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const root = options.root ?? PROJECT_ROOT;
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    err(`new:consumer: ${(error as Error).message}`);
    err('Run with --help for usage.');
    return 2;
  }
  if (parsed.values.help) {
    out(helpText());
    return 0;
  }
  const [name, ...extra] = parsed.positionals;
  if (name === undefined || extra.length > 0) {
    err(
      name === undefined
        ? 'new:consumer: give the consumer a name, such as order-emails'
        : `new:consumer: one name only (given ${parsed.positionals.join(', ')})`,
    );
    err('Run with --help for usage.');
    return 2;
  }
  try {
    const startPosition = parsed.values['start-position'];
    if (startPosition !== undefined && startPosition !== 'earliest' && startPosition !== 'first-seen') {
      err(
        `new:consumer: --start-position must be earliest or first-seen (given ${JSON.stringify(startPosition)})`,
      );
      err('Run with --help for usage.');
      return 2;
    }
    const plan = planConsumer(
      {
        name,
        ordered: parsed.values.ordered ?? false,
        events: parsed.values.events?.split(','),
        startPosition,
      },
      root,
    );
    writePlan(plan, root);
    const [consumerFile, testFile] = plan.files;
    out(`Created ${consumerFile?.path}`);
    out(`Created ${testFile?.path}`);
    out(`Registered in ${REGISTRY_FILE}:`);
    out(plan.registration);
    out('');
    out('Next:');
    out(`  1. Write the effect in ${consumerFile?.path}: handle() gets event.data typed per event.type.`);
    out(`  2. npm test -- ${testFile?.path} test/contract`);
    out('  3. npm start   (the local runtime runs every consumer of the synthesized stack)');
    if (plan.spec.ordered && plan.spec.startPosition === 'earliest') {
      out(
        `  4. Deployed to a system that already has orders? npm run outbox -- backfill --consumer ${plan.spec.name} ...`,
      );
    }
    return 0;
  } catch (error) {
    if (!(error instanceof ScaffoldError)) throw error;
    err(`new:consumer: ${error.message}`);
    return 1;
  }
}

function parse(argv: ReadonlyArray<string>) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      events: { type: 'string' },
      ordered: { type: 'boolean' },
      'start-position': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

// Run when executed (tsx tools/new-consumer/main.ts), not when imported by tests.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  process.exitCode = run(process.argv.slice(2));
}
