import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { functionEntry, PipelineFunction, PROJECT_ROOT } from '../../../lib/constructs/pipeline-function';
import { allowedActions, arnOf, logicalId, newUnbundledStack, roleStatements } from '../template-helpers';

describe('functionEntry', () => {
  it('resolves an entry name to an absolute path under functions/, independent of the working directory', () => {
    // Act
    const entry = functionEntry('relay/handler');

    // Assert
    expect(isAbsolute(entry)).toBe(true);
    expect(entry.startsWith(PROJECT_ROOT)).toBe(true);
    expect(entry.endsWith('/functions/relay/handler.ts')).toBe(true);
    expect(existsSync(entry)).toBe(true);
  });

  it.each(['../bin/app', '/etc/passwd', 'relay/handler.ts', ''])('rejects the entry name %j', (name) => {
    // Act
    const act = () => functionEntry(name);

    // Assert
    expect(act).toThrow(/entry must be a path below functions\/ without extension/);
  });
});

describe('PipelineFunction', () => {
  it('applies the pipeline defaults: 30 s timeout, 512 MB, ESM bundle with source maps', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const fn = new PipelineFunction(stack, 'Fn', { entry: 'relay/handler' });

    // Assert
    const properties = Template.fromStack(stack).toJSON().Resources[logicalId(fn)].Properties;
    expect(properties).toMatchObject({
      Timeout: 30,
      MemorySize: 512,
      Handler: 'index.handler',
      Environment: {
        Variables: { NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_SERVICE_NAME: 'handler' },
      },
    });
  });

  it('lets the execution role write only to the function log group and X-Ray', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const fn = new PipelineFunction(stack, 'Fn', { entry: 'relay/handler' });

    // Assert
    const statements = roleStatements(Template.fromStack(stack), fn).map((statement) => ({
      actions: allowedActions([statement]).sort(),
      resource: statement.Resource,
    }));
    expect(statements).toEqual([
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: arnOf(fn.logGroup) },
      { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resource: '*' },
    ]);
  });

  it('rejects a timeout beyond the Lambda maximum of 15 minutes', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const act = () =>
      new PipelineFunction(stack, 'Fn', { entry: 'relay/handler', timeout: Duration.minutes(16) });

    // Assert
    expect(act).toThrow(/timeout must be between 1 second and 15 minutes \(given 16 minutes\)/);
  });

  it('rejects memory below 128 MB', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const act = () => new PipelineFunction(stack, 'Fn', { entry: 'relay/handler', memorySize: 64 });

    // Assert
    expect(act).toThrow(/memorySize must be between 128 and 10240 \(given 64\)/);
  });
});
