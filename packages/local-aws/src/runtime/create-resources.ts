/**
 * Step 2 of start-up: every table, queue, bucket, bus, archive and rule of the template,
 * and the map of what `Ref` and `Fn::GetAtt` return for each logical id locally.
 */
import { eventRuleArn } from '../iam/requests/eventbridge';
import {
  createBuckets,
  createQueues,
  createTables,
  type LocalBucket,
  type LocalQueue,
  type LocalTable,
} from '../resources';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalResource, referencedLogicalId } from '../template/intrinsics';
import type { SynthesizedStack } from '../template/synth';
import type { Topology } from '../template/topology';
import type { Engines } from './engines';

/** What was created, and the local values of the template's references. */
export interface CreatedResources {
  readonly tables: ReadonlyArray<LocalTable>;
  readonly queues: ReadonlyArray<LocalQueue>;
  readonly buckets: ReadonlyArray<LocalBucket>;
  /** By logical id (and `AWS::StackName`): what `Ref` and `Fn::GetAtt` resolve to. */
  readonly resources: Map<string, LocalResource>;
}

/** Creates the template's resources on the engines. */
export async function createResources(
  synth: SynthesizedStack,
  topology: Topology,
  engines: Engines,
  options: { readonly queueVisibilityTimeoutSeconds?: number },
): Promise<CreatedResources> {
  const [tables, queues, buckets] = await Promise.all([
    createTables(engines.dynamodb, topology.tables),
    createQueues(engines.sqs, topology.queues, {
      visibilityTimeoutSeconds: options.queueVisibilityTimeoutSeconds,
    }),
    createBuckets(engines.s3, topology.buckets),
  ]);
  const resources = new Map<string, LocalResource>();
  resources.set('AWS::StackName', { ref: synth.stackName, attributes: {} });
  for (const table of tables) resources.set(table.logicalId, table);
  for (const queue of queues) resources.set(queue.logicalId, queue);
  for (const bucket of buckets) resources.set(bucket.logicalId, bucket);
  for (const fn of topology.functions) {
    resources.set(fn.logicalId, {
      ref: fn.logicalId,
      attributes: { Arn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${fn.logicalId}` },
    });
  }
  createBusesAndArchives(topology, engines, resources);
  registerRules(synth.template, resources);
  createRules(topology, engines, resources);
  return { tables, queues, buckets, resources };
}

/** The QueueUrl of a queue of the template, by logical id. */
export function queueUrlOf(
  resources: ReadonlyMap<string, LocalResource>,
  logicalId: string | undefined,
): string | undefined {
  return logicalId === undefined ? undefined : resources.get(logicalId)?.attributes.QueueUrl;
}

function createBusesAndArchives(topology: Topology, engines: Engines, resources: Map<string, LocalResource>) {
  for (const bus of topology.eventBuses) {
    engines.eventBus.createEventBus(bus.name);
    const arn = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${bus.name}`;
    resources.set(bus.logicalId, { ref: bus.name, attributes: { Arn: arn, Name: bus.name } });
  }
  for (const archive of topology.archives) {
    const bus = resources.get(archive.eventBusLogicalId);
    if (!bus) continue;
    const arn = engines.eventBus.createArchive({
      name: archive.name,
      eventBusName: bus.ref,
      eventPattern: archive.eventPattern,
    });
    resources.set(archive.logicalId, {
      ref: archive.name,
      attributes: { Arn: arn, ArchiveName: archive.name },
    });
  }
}

/**
 * `Ref` and `Fn::GetAtt Arn` of every `AWS::Events::Rule`, those the runtime runs and the others
 * (schedules, rules on the default bus), named after the logical id as the emulator names them:
 * queue policies and `AWS::Lambda::Permission` name rules by ARN (`rule/<bus>/<name>`, or
 * `rule/<name>` on the default bus). `Ref` is the name, `<bus>|<name>` on a custom bus (the rule
 * id as recalled from the CloudFormation reference, not checked against AWS here; nothing in the
 * runtime depends on it).
 */
function registerRules(template: unknown, resources: Map<string, LocalResource>): void {
  const all = (template as { Resources?: Record<string, { Type?: string; Properties?: unknown }> }).Resources;
  for (const [logicalId, resource] of Object.entries(all ?? {})) {
    if (resource.Type !== 'AWS::Events::Rule') continue;
    const busValue = (resource.Properties as { EventBusName?: unknown } | undefined)?.EventBusName;
    const busId = referencedLogicalId(busValue);
    const bus =
      busId === undefined ? (typeof busValue === 'string' ? busValue : 'default') : resources.get(busId)?.ref;
    if (bus === undefined) continue;
    const busName = bus.startsWith('arn:') ? bus.replace(/^.*:event-bus\//, '') : bus;
    resources.set(logicalId, {
      ref: busName === 'default' ? logicalId : `${busName}|${logicalId}`,
      attributes: {
        Arn: eventRuleArn(logicalId, busName, { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT }),
      },
    });
  }
}

function createRules(topology: Topology, engines: Engines, resources: ReadonlyMap<string, LocalResource>) {
  for (const rule of topology.rules) {
    const bus = resources.get(rule.eventBusLogicalId);
    if (!bus)
      throw new Error(
        `rule ${rule.logicalId} is on bus ${rule.eventBusLogicalId}, which is not in the template`,
      );
    engines.eventBus.putRule({
      name: rule.logicalId,
      eventBusName: bus.ref,
      eventPattern: rule.eventPattern,
      targets: rule.targets.map((target) => ({
        id: target.id,
        queueUrl: queueUrlOf(resources, target.queueLogicalId) ?? '',
        deadLetterQueueUrl: queueUrlOf(resources, target.deadLetterQueueLogicalId),
        maximumRetryAttempts: target.maximumRetryAttempts,
        maximumEventAgeInSeconds: target.maximumEventAgeInSeconds,
        messageGroupId: target.messageGroupId,
      })),
    });
  }
}
