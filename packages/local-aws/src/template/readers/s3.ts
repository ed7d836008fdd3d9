import type { ReaderContext } from './resource-reader';

/** `AWS::S3::Bucket`: created empty; its configuration (versioning, lifecycle, notifications) is not run locally. */
export function readBucket({ logicalId, topology }: ReaderContext): void {
  topology.buckets.push({ logicalId });
}
