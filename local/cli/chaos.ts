import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { parseScriptOptions } from '../../tools/script-options';
import { runChaos } from '../demo/chaos';
import { printReport } from './report';

const HELP = `Usage: npm run chaos -- [options]

Runs the order workload on the local pipeline with faults injected everywhere
(EventBridge entry failures and throttling, SQS batch entry failures, relay and
consumer crashes, reordered and duplicated stream records, DynamoDB throttling
and transaction conflicts), on a copy of the stack with a scaffolded ordered and
unordered consumer added (npm run new:consumer, as the README says). While the
workload runs it commits poison onto live orders, sends hostile requests and
smuggled envelopes, and runs an operator's replay and redrive; afterwards it skips
the poison. It checks: nothing lost, no ghosts, every effect once, order kept,
poison only in the DLQs of the consumers that validate it.

Options:
  --events <n>       events the workload plans (default 10500, so that over 10,000 commit)
  --aggregates <n>   orders to spread them over (default 500)
  --fault-rate <r>   base rate of every fault (default 0.1)
  --poison <n>       live orders that get a poison event mid-run (default 5)
  --hostile <n>      emoji orders and smuggled envelopes, each, mid-run (default 3)
  --no-scaffolded    run the two example consumers only
  --no-iam           do not enforce the template's IAM (debugging only; the report says so)
  --seed <n>         seed of the workload and every fault (default 42)
  -h, --help         show this help

Exit code: 0 when every guarantee held, 1 when one did not, 2 on bad options.`;

async function main(): Promise<number> {
  const values = parseScriptOptions(parse, HELP);
  if (typeof values === 'number') return values;
  const bar = new cliProgress.SingleBar(
    {
      format: ' {phase} |{bar}| {value}/{total}',
      hideCursor: true,
      clearOnComplete: false,
      // Without a terminal (CI logs, `> file`), print the bar as a line every 15 s.
      noTTYOutput: true,
      notTTYSchedule: 15_000,
    },
    cliProgress.Presets.shades_classic,
  );
  console.log(
    `Chaos run: ${values.events} events over ${values.aggregates} orders, fault rate ${values.faultRate}, seed ${values.seed}`,
  );
  bar.start(values.events, 0, { phase: 'commands' });
  const result = await runChaos({
    events: values.events,
    aggregates: values.aggregates,
    faultRate: values.faultRate,
    poisonEvents: values.poison,
    hostileInputs: values.hostile,
    scaffolded: values.scaffolded,
    iam: values.iam,
    seed: values.seed,
    onProgress: (phase, done, total) => {
      bar.setTotal(total);
      bar.update(done, { phase });
    },
  });
  bar.stop();
  printReport(result.report);
  const injected = Object.entries(result.injected)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  console.log(`  faults injected            ${injected}`);
  console.log(`  fault ratio                ${(result.faultRatio * 100).toFixed(1)} % of committed events`);
  const { hostile, operator, scaffolded } = result;
  const lines = [
    `  poison events              ${result.poison.size} on live orders: dead-lettered by the consumers that validate them, skipped by the operator on each ordered one (${operator.skips.sent} skips, ${operator.skips.failed} failed)`,
    `  scaffolded consumers       ${scaffolded.consumers.map((c) => `${c.name} (${c.ordered ? 'ordered' : 'unordered'})`).join(', ') || 'none'}: ${scaffolded.effectMismatches} counter mismatches`,
    `  hostile inputs             ${hostile.refusedByApi} refused by the API (400, nothing written), ${hostile.acceptedHostile} let through; ${hostile.astralCommitted} emoji orders committed and delivered; ${hostile.smuggled.length} smuggled envelopes stepped over by the relay`,
    `  relay failure queue        ${result.relayFailures.length} (${[...new Set(result.relayFailures.map((f) => f.reason))].join(', ') || 'empty'}): the smuggled envelopes, once per publish path that met them`,
    `  ordered consumer added     ${operator.lateConsumer ? `${operator.lateConsumer.name} joined mid-run (deployed, then backfill exit ${operator.lateConsumer.backfillCode}); order checked as the kit applied it` : 'none (--no-scaffolded)'}`,
    `  replay under traffic       ${operator.replay.orders} orders re-published (exit ${operator.replay.code}); duplicates absorbed`,
    `  redrive under traffic      exit ${operator.redrive.code}: ${operator.redrive.output.split('\n').find((line) => line.startsWith('Moved') || line.includes('stayed')) ?? operator.redrive.output.split('\n')[0]}`,
  ];
  console.log(lines.join('\n'));
  return result.report.ok ? 0 : 1;
}

function parse() {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '10500' },
      aggregates: { type: 'string', default: '500' },
      'fault-rate': { type: 'string', default: '0.1' },
      poison: { type: 'string', default: '5' },
      hostile: { type: 'string', default: '3' },
      'no-scaffolded': { type: 'boolean', default: false },
      'no-iam': { type: 'boolean', default: false },
      seed: { type: 'string', default: '42' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const number = (name: keyof typeof values, min: number, max: number, integer = true) => {
    const n = Number(values[name]);
    if (Number.isNaN(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new Error(
        `--${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max} (given ${values[name]})`,
      );
    }
    return n;
  };
  const events = number('events', 1, 1_000_000);
  return {
    help: values.help,
    events,
    aggregates: number('aggregates', 1, events),
    faultRate: number('fault-rate', 0, 1, false),
    poison: number('poison', 0, 1000),
    hostile: number('hostile', 0, 100),
    scaffolded: !values['no-scaffolded'],
    iam: !values['no-iam'],
    seed: number('seed', 0, 2 ** 31),
  };
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`\nnpm run chaos failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
