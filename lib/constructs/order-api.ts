import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import { type FunctionUrl, FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { AGGREGATE_TYPES } from '../../contract/aggregates';
import { ENV } from '../../contract/env';
import { KEYS } from '../../contract/keys';
import { SERVICES } from '../../contract/metrics';
import { ConstructPropsError, validateDurationInRange } from './errors';
import { grantItems } from './outbox-table';
import { PipelineFunction, type PipelineFunctionOptions } from './pipeline-function';
import type { MonitoringOptions } from './pipeline-observability';

/** Props of {@link OrderApi}. */
export interface OrderApiProps extends PipelineFunctionOptions, MonitoringOptions {
  /** Table the API writes aggregates and outbox items to, in one transaction. */
  readonly table: ITable;
  /** CloudEvents `source` stamped on every event, e.g. `'com.example.orders'`. */
  readonly eventSource: string;
  /** How long an outbox item lives before DynamoDB TTL deletes it; whole days, 1..365. */
  readonly outboxRetention: Duration;
}

/**
 * The producer: an orders API function behind a Function URL that only IAM-signed requests
 * may call (grant callers with {@link OrderApi.grantInvoke}). It writes business state and
 * outbox events in one `TransactWriteItems`.
 */
export class OrderApi extends Construct {
  /** The API function. */
  readonly function: PipelineFunction;
  /** The function's URL (AWS_IAM auth). */
  readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: OrderApiProps) {
    super(scope, id);
    validateOutboxRetention(props.outboxRetention);
    if (!/^\S+$/.test(props.eventSource)) {
      throw new ConstructPropsError(
        `eventSource must be a non-empty URI reference without spaces (given '${props.eventSource}')`,
      );
    }

    this.function = new PipelineFunction(this, 'Function', {
      entry: 'producer/orders-api',
      serviceName: SERVICES.ordersApi,
      description: 'Orders API: writes aggregates and outbox events in one DynamoDB transaction',
      timeout: props.timeout,
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        [ENV.tableName]: props.table.tableName,
        [ENV.eventSource]: props.eventSource,
        [ENV.outboxRetentionDays]: String(props.outboxRetention.toDays()),
      },
    });
    // What the writer calls: TransactWriteItems, authorised per item as PutItem (state, outbox
    // items, command records), and GetItem (load an order, replay a command). Only order
    // partitions and command records.
    grantItems(props.table, this.function, {
      actions: ['dynamodb:PutItem', 'dynamodb:GetItem'],
      leadingKeys: [`${AGGREGATE_TYPES.order}#*`, `${KEYS.commandPkPrefix}*`],
    });
    this.url = this.function.addFunctionUrl({ authType: FunctionUrlAuthType.AWS_IAM });
    props.monitor?.monitorFunction(this.function, 'orders API');
  }

  /**
   * Lets a principal call the API through its Function URL. Since October 2025, AWS_IAM function
   * URLs need both `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction` (with the condition
   * `lambda:InvokedViaFunctionUrl`); CDK's grantInvokeUrl grants both.
   *
   * @example orderApi.grantInvoke(checkoutServiceRole);
   */
  grantInvoke(grantee: IGrantable): Grant {
    return this.function.grantInvokeUrl(grantee);
  }
}

// Whole days, because the producer's environment carries days.
function validateOutboxRetention(retention: Duration): void {
  validateDurationInRange('outboxRetention', retention, Duration.days(1), Duration.days(365));
  if (!retention.isUnresolved() && !Number.isInteger(retention.toDays({ integral: false }))) {
    throw new ConstructPropsError(`outboxRetention must be whole days (given ${retention.toHumanString()})`);
  }
}
