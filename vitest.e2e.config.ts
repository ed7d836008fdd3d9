import { defineConfig } from 'vitest/config';

/**
 * End-to-end suite against a deployed stack (LocalStack or a real AWS account); see
 * docs/localstack.md. No global setup: nothing is synthesized or started locally.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    exclude: ['node_modules/**'],
    // Calls go over the network to Lambda, DynamoDB and SQS; a LocalStack cold start pulls images.
    testTimeout: 120_000,
    // beforeAll runs the workload and waits up to OUTBOX_E2E_WAIT_SECONDS (at most 240) for the consumers.
    hookTimeout: 300_000,
    // One shared stack: suites must not interleave their commands or their dead-letter checks.
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
