import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FunctionError, LocalFunction } from '../../src/lambda/local-function';

let dir: string;
let modulePath: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'local-function-'));
  modulePath = join(dir, 'index.mjs');
  // Answers with its GREETING, after `wait` ms.
  writeFileSync(
    modulePath,
    'export const handler = async (event) => { await new Promise((r) => setTimeout(r, event.wait ?? 0)); return process.env.GREETING; };\n',
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function greeter(concurrency = 1): LocalFunction {
  return new LocalFunction({
    name: 'Greeter',
    modulePath,
    exportName: 'handler',
    environment: { GREETING: 'hello' },
    timeoutSeconds: 10,
    memorySize: 128,
    concurrency,
  });
}

describe('LocalFunction.updateEnvironment', () => {
  it('runs every invocation after the change with the new values, as UpdateFunctionConfiguration does', async () => {
    // Arrange
    const fn = greeter(2);
    try {
      const before = await fn.invoke({});

      // Act
      fn.updateEnvironment({ GREETING: 'bonjour' });
      const after = await Promise.all([fn.invoke({}), fn.invoke({}), fn.invoke({})]);

      // Assert
      expect(before).toBe('hello');
      expect(after).toEqual(['bonjour', 'bonjour', 'bonjour']);
      expect(fn.environment.GREETING).toBe('bonjour');
    } finally {
      await fn.stop();
    }
  });

  it('lets an invocation already running finish with the old values, and replaces its environment after', async () => {
    // Arrange
    const fn = greeter(1);
    try {
      await fn.ready();
      const running = fn.invoke({ wait: 300 });
      await new Promise((resolve) => setTimeout(resolve, 50));

      // Act
      fn.updateEnvironment({ GREETING: 'hola' });
      const next = await fn.invoke({});

      // Assert
      await expect(running).resolves.toBe('hello');
      expect(next).toBe('hola');
    } finally {
      await fn.stop();
    }
  });

  it('refuses a value that is not a string, naming the variable', async () => {
    // Arrange
    const fn = greeter(1);
    try {
      // Act
      const update = () => fn.updateEnvironment({ GREETING: 42 as unknown as string });

      // Assert
      expect(update).toThrow(FunctionError);
      expect(update).toThrow('GREETING');
    } finally {
      await fn.stop();
    }
  });
});
