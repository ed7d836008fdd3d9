import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../contract/project';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { functionEntry, PipelineFunction } from '../../../lib/constructs/pipeline-function';
import {
  allowedActions,
  arnOf,
  messageOf,
  newUnbundledStack,
  propertiesOf,
  resourceOf,
  roleStatements,
  thrownBy,
} from '../template-helpers';

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
    const error = thrownBy(() => functionEntry(name));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(/entry must be a path below functions\/ without extension/);
    expect(messageOf(error)).toContain(`(given '${name}')`);
  });
});

describe('PipelineFunction', () => {
  it('applies the pipeline defaults: 30 s timeout, 512 MB, ESM bundle with source maps', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const fn = new PipelineFunction(stack, 'Fn', { entry: 'relay/handler' });

    // Assert
    const properties = propertiesOf(Template.fromStack(stack), fn);
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

  it('keeps its own log group for the retention and removal policy it is given', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const fn = new PipelineFunction(stack, 'Fn', {
      entry: 'relay/handler',
      logRetention: RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Assert
    const logGroup = resourceOf(Template.fromStack(stack), fn.logGroup);
    expect(logGroup).toMatchObject({ DeletionPolicy: 'Delete', Properties: { RetentionInDays: 7 } });
  });

  it('adds the environment it is given to the defaults, and takes the service name it is given', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const fn = new PipelineFunction(stack, 'Fn', {
      entry: 'relay/handler',
      serviceName: 'outbox-relay',
      environment: { EXTRA: 'yes' },
    });

    // Assert
    expect(propertiesOf(Template.fromStack(stack), fn).Environment).toEqual({
      Variables: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'outbox-relay',
        POWERTOOLS_METRICS_NAMESPACE: 'OutboxPipeline',
        EXTRA: 'yes',
      },
    });
  });

  it.each([
    [
      { timeout: Duration.minutes(16) },
      /timeout must be between 1 second and 15 minutes \(given 16 minutes\)/,
    ],
    [{ timeout: Duration.millis(2500) }, /timeout must be whole seconds \(given 2500 milliseconds\)/],
    [{ memorySize: 64 }, /memorySize must be between 128 and 10240 \(given 64\)/],
    [{ memorySize: 512.5 }, /memorySize must be a whole number \(given 512.5\)/],
  ])('rejects %o with a ConstructPropsError', (props, message) => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const error = thrownBy(() => new PipelineFunction(stack, 'Fn', { entry: 'relay/handler', ...props }));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(message);
  });
});
