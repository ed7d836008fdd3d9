import { Template } from 'aws-cdk-lib/assertions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { consumerConstructId } from '../../contract/consumer-name';
import type {
  ConsumerDeclaration,
  OrderedConsumerDeclaration,
  UnorderedConsumerDeclaration,
} from '../../contract/consumers';
import { FailureBucket } from '../../lib/constructs/failure-bucket';
import { OrderApi } from '../../lib/constructs/order-api';
import { OrderedConsumer } from '../../lib/constructs/ordered-consumer';
import { OutboxRelay } from '../../lib/constructs/outbox-relay';
import { OutboxSweeper } from '../../lib/constructs/outbox-sweeper';
import { IdempotencyTable, OutboxTable } from '../../lib/constructs/outbox-table';
import { PipelineObservability } from '../../lib/constructs/pipeline-observability';
import { UnorderedConsumer } from '../../lib/constructs/unordered-consumer';
import { OutboxPipelineStack, type OutboxPipelineStackProps } from '../../lib/outbox-pipeline-stack';
import { childOf, newApp } from './template-helpers';

/** A synthesized pipeline stack and its parts, found by construct id. */
export interface Pipeline {
  readonly stack: OutboxPipelineStack;
  readonly template: Template;
  readonly table: Table;
  readonly idempotencyTable: Table;
  readonly eventBus: EventBus;
  readonly failureBucket: FailureBucket;
  readonly relay: OutboxRelay;
  readonly sweeper: OutboxSweeper;
  readonly orderApi: OrderApi;
  readonly observability: PipelineObservability;
  /** The construct of a consumer of the stack's registry. */
  consumer(declaration: ConsumerDeclaration): OrderedConsumer | UnorderedConsumer;
  /** The construct of an ordered consumer of the stack's registry. */
  ordered(declaration: OrderedConsumerDeclaration): OrderedConsumer;
  /** The construct of an unordered consumer of the stack's registry. */
  unordered(declaration: UnorderedConsumerDeclaration): UnorderedConsumer;
}

/** The ordered consumers of a registry. */
export function orderedDeclarations(
  registry: ReadonlyArray<ConsumerDeclaration>,
): OrderedConsumerDeclaration[] {
  return registry.filter(
    (declaration): declaration is OrderedConsumerDeclaration => declaration.kind === 'ordered',
  );
}

/** The unordered consumers of a registry. */
export function unorderedDeclarations(
  registry: ReadonlyArray<ConsumerDeclaration>,
): UnorderedConsumerDeclaration[] {
  return registry.filter(
    (declaration): declaration is UnorderedConsumerDeclaration => declaration.kind === 'unordered',
  );
}

/**
 * Synthesizes an {@link OutboxPipelineStack} with the cdk.json context.
 *
 * @param options.bundle - run esbuild on every function (slow); off by default
 */
export function synthPipeline(
  props: OutboxPipelineStackProps = {},
  options: { readonly bundle?: boolean } = {},
): Pipeline {
  const stack = new OutboxPipelineStack(newApp(options), 'OutboxPipeline', props);
  const ordered = (declaration: OrderedConsumerDeclaration) =>
    childOf(stack, consumerConstructId(declaration.name), OrderedConsumer);
  const unordered = (declaration: UnorderedConsumerDeclaration) =>
    childOf(stack, consumerConstructId(declaration.name), UnorderedConsumer);
  return {
    stack,
    template: Template.fromStack(stack),
    table: childOf(stack, 'OutboxTable', OutboxTable).table,
    idempotencyTable: childOf(stack, 'IdempotencyTable', IdempotencyTable).table,
    eventBus: childOf(stack, 'EventBus', EventBus),
    failureBucket: childOf(stack, 'FailureBucket', FailureBucket),
    relay: childOf(stack, 'Relay', OutboxRelay),
    sweeper: childOf(stack, 'Sweeper', OutboxSweeper),
    orderApi: childOf(stack, 'OrderApi', OrderApi),
    observability: childOf(stack, 'Observability', PipelineObservability),
    consumer: (declaration) =>
      declaration.kind === 'ordered' ? ordered(declaration) : unordered(declaration),
    ordered,
    unordered,
  };
}
