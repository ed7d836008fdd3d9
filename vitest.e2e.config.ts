import { defineConfig } from 'vitest/config';

/**
 * End-to-end suite against a running stack: the local pipeline of `npm start -- --keep`,
 * LocalStack (docs/localstack.md) or a real AWS account; test/e2e/deployed-stack.ts says how
 * each is chosen. No global setup: nothing is synthesized or started by this config
 * (test/e2e/run-local.ts starts a local pipeline, runs this suite against it and stops it).
 * Without a target the pipeline suite is skipped with one message; the target-resolution
 * tests still run.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    exclude: ['node_modules/**'],
    // Calls go over the network (or loopback) to Lambda, DynamoDB and SQS; a LocalStack cold start pulls images.
    testTimeout: 120_000,
    // beforeAll runs the workload and waits up to OUTBOX_E2E_WAIT_SECONDS (at most 240) for the consumers.
    hookTimeout: 300_000,
    // One shared stack: suites must not interleave their commands or their dead-letter checks.
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
