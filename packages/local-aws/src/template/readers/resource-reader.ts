import type { Topology } from '../topology';

/** A resource of a synthesized template, as far as the readers look at it. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

/** What a reader gets for one resource of the template. */
export interface ReaderContext {
  readonly logicalId: string;
  /** The resource's Properties (an empty object when it has none). */
  readonly properties: Readonly<Record<string, unknown>>;
  readonly resource: CfnResource;
  /** Every resource of the template, to look at what a property references. */
  readonly resources: Readonly<Record<string, CfnResource>>;
  /** The cloud assembly folder that holds the template's assets. */
  readonly assemblyDir: string;
  /** The topology being read; a reader adds what its resource contributes. */
  readonly topology: Topology;
}

/** Reads one resource type into the topology. */
export type ResourceReader = (context: ReaderContext) => void;

/** A property as a number, or undefined when the template leaves it out. */
export function optionalNumber(value: unknown): number | undefined {
  return value === undefined ? undefined : Number(value);
}
