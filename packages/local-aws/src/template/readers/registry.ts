import { readTable } from './dynamodb';
import { readArchive, readEventBus, readRule } from './events';
import { readEventSourceMapping, readFunction, readFunctionUrl } from './lambda';
import type { ResourceReader } from './resource-reader';
import { readBucket } from './s3';
import { readQueue } from './sqs';

/**
 * One reader per CloudFormation resource type the local runtime runs; every
 * other type of the template is left out. Adding a type is adding a line here.
 */
export const RESOURCE_READERS: ReadonlyMap<string, ResourceReader> = new Map<string, ResourceReader>([
  ['AWS::DynamoDB::Table', readTable],
  ['AWS::DynamoDB::GlobalTable', readTable],
  ['AWS::SQS::Queue', readQueue],
  ['AWS::Events::EventBus', readEventBus],
  ['AWS::Events::Rule', readRule],
  ['AWS::Events::Archive', readArchive],
  ['AWS::Lambda::Function', readFunction],
  ['AWS::Lambda::EventSourceMapping', readEventSourceMapping],
  ['AWS::Lambda::Url', readFunctionUrl],
  ['AWS::S3::Bucket', readBucket],
]);
