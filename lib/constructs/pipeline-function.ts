import { isAbsolute, join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../contract/metrics';
import { PROJECT_ROOT } from '../../contract/project';
import { ConstructPropsError, validateDurationInRange, validateIntegerInRange } from './errors';

/**
 * The Lambda runtime of every function, and the esbuild target that goes with it. The local
 * runtime checks that the Node.js running it has the same major version.
 */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;
const BUNDLE_TARGET = 'node24';

/** Default maximum run time of a pipeline function. */
export const DEFAULT_FUNCTION_TIMEOUT = Duration.seconds(30);

/**
 * Absolute path of a Lambda entry file under `functions/`.
 *
 * @param name - path below `functions/` without extension
 * @example
 * functionEntry('relay/handler'); // => '<project>/functions/relay/handler.ts'
 */
export function functionEntry(name: string): string {
  if (name.length === 0 || isAbsolute(name) || name.split('/').includes('..') || name.endsWith('.ts')) {
    throw new ConstructPropsError(
      `entry must be a path below functions/ without extension, such as 'relay/handler' (given '${name}')`,
    );
  }
  return join(PROJECT_ROOT, 'functions', `${name}.ts`);
}

/** Function settings that every construct owning a function passes through to it. */
export interface PipelineFunctionOptions {
  /**
   * How long the function's log group keeps events.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the function's log group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Maximum run time of one invocation (1 s..15 min).
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Memory in MB (128..10240); CPU scales with it.
   * @default 512
   */
  readonly memorySize?: number;
}

/** Props of {@link PipelineFunction}. */
export interface PipelineFunctionProps extends PipelineFunctionOptions {
  /** Entry file below `functions/`, without extension, e.g. `'relay/handler'`. */
  readonly entry: string;
  /**
   * Powertools service name: the `service` key of logs and the service dimension of metrics.
   * @default - the last segment of `entry`
   */
  readonly serviceName?: string;
  /**
   * Function description shown in the console.
   * @default - no description
   */
  readonly description?: string;
  /**
   * Environment variables on top of the Powertools and source-map defaults.
   * @default - only the defaults
   */
  readonly environment?: Record<string, string>;
}

// Lets CommonJS dependencies that call require() (e.g. for Node built-ins) run inside the ESM bundle.
const ESM_REQUIRE_BANNER =
  "import { createRequire as topLevelCreateRequire } from 'node:module'; const require = topLevelCreateRequire(import.meta.url);";

/**
 * The one place that sets Lambda defaults for this pipeline: Node.js 24 on ARM64, X-Ray
 * active tracing, an ESM bundle with source maps built locally by esbuild, an explicit log
 * group with retention, and Powertools environment.
 *
 * The execution role carries no AWS managed policy: the function may write only to its own
 * log group (and X-Ray); every other permission comes from a grant by the construct that
 * owns the function.
 *
 * @example
 * const fn = new PipelineFunction(this, 'Relay', { entry: 'relay/handler', serviceName: 'outbox-relay' });
 * table.grantReadData(fn);
 */
export class PipelineFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    const timeout = props.timeout ?? DEFAULT_FUNCTION_TIMEOUT;
    const memorySize = props.memorySize ?? 512;
    // Lambda limits: 1 s..15 min run time, 128..10240 MB memory.
    validateDurationInRange('timeout', timeout, Duration.seconds(1), Duration.minutes(15));
    validateIntegerInRange('memorySize', memorySize, 128, 10_240);
    const entry = functionEntry(props.entry);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    // Created before super() so the function is born pointing at it; `scope` owns them because `this` does not exist yet.
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${scope.node.path}/${id}`,
    });
    // Replaces AWSLambdaBasicExecutionRole (which allows writing to every log group in the account).
    logGroup.grantWrite(role);

    super(scope, id, {
      entry,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      handler: 'handler',
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      tracing: Tracing.ACTIVE,
      timeout,
      memorySize,
      role,
      logGroup,
      description: props.description,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? props.entry.split('/').at(-1) ?? props.entry,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: BUNDLE_TARGET,
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // Bundle the AWS SDK too, so the deployed code runs the SDK versions pinned in
        // package-lock.json (the ones the tests ran against) rather than whatever the runtime ships.
        externalModules: [],
        forceDockerBundling: false,
      },
    });

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions (Resource must be *).',
    });
  }
}
