import { parseArgs } from 'node:util';
import { renderTrace, traceOrder } from '../demo/trace';
import { LOCAL_LOG_DIR } from '../pipeline';

const HELP = `Usage: npm run trace -- <order id> [--logs <dir>]

Shows one order's path through the local pipeline, from the functions' logs (.local/logs/):
each event the API committed for the order, with its W3C traceparent, then for each consumer
when SQS got the message (sent by the relay, or delivered by EventBridge) and when the
consumer's effect committed, in milliseconds since the commit.

Run it against a pipeline started with \`npm start -- --keep\` (or after any npm start: the logs
stay until the next run). Order ids are in the API's answers (orderId) and in the logs.

Options:
  --logs <dir>   the log folder (default .local/logs)
  -h, --help     show this help

Exit code: 0 when the order was found, 1 when it was not, 2 on a wrong command line.`;

function main(): number {
  let parsed: ReturnType<
    typeof parseArgs<{
      options: { logs: { type: 'string' }; help: { type: 'boolean'; short: 'h' } };
      allowPositionals: true;
    }>
  >;
  try {
    parsed = parseArgs({
      options: { logs: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(HELP);
    return 0;
  }
  const [orderId, ...rest] = parsed.positionals;
  if (!orderId || rest.length > 0) {
    console.error(`give one order id (given ${parsed.positionals.length})\n\n${HELP}`);
    return 2;
  }
  const trace = traceOrder(parsed.values.logs ?? LOCAL_LOG_DIR, orderId);
  console.log(renderTrace(trace));
  return trace.events.length > 0 ? 0 : 1;
}

process.exit(main());
