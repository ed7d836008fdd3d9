import { processIo } from './cli-io';
import { runCli } from './run';

// `npm run outbox -- <command> ...`: everything lives in run.ts so that tests call it directly.
process.exitCode = await runCli(process.argv.slice(2), processIo);
