import { parse } from '@aws-lambda-powertools/parser';
import type { z } from 'zod';
import { ValidationError } from '../shared/errors';

/**
 * One version of one event type: its name, its version and the zod schema of its `data`.
 *
 * `TPrevious` is the definition this version upcasts from (version - 1); it is what lets the
 * catalog's types tell the latest version of a type apart from the older ones.
 */
export interface EventDefinition<
  TType extends string = string,
  TVersion extends number = number,
  TSchema extends z.ZodType = z.ZodType,
  TPrevious = unknown,
> {
  readonly type: TType;
  readonly version: TVersion;
  readonly schema: TSchema;
  /** What happened, in one sentence; also the JSON Schema's description. */
  readonly description: string;
  /** The version this one upcasts from (`version - 1`); absent on version 1. */
  readonly previous: TPrevious | undefined;
  /** Turns data of `previous` (its schema's output) into this version's input. */
  readonly upcast: ((data: never) => unknown) | undefined;
}

/** Any event definition, whatever its type, version and schema. */
export type AnyEventDefinition = EventDefinition<string, number, z.ZodType, unknown>;

/** What {@link defineEvent} takes. */
export interface EventSpec<
  TType extends string,
  TVersion extends number,
  TSchema extends z.ZodType,
  TPrevious extends AnyEventDefinition,
> {
  readonly type: TType;
  readonly version: TVersion;
  readonly schema: TSchema;
  readonly description: string;
  /**
   * Required from version 2 on: the previous version's definition and a pure function from its
   * data to this version's data. Consumers run the chain to get every event in the latest version.
   */
  readonly upcast?: {
    readonly from: TPrevious;
    readonly run: (data: z.output<TPrevious['schema']>) => z.input<TSchema>;
  };
}

const TYPE_PATTERN = /^[A-Z][A-Za-z0-9]{0,63}$/;

/**
 * Declares one version of an event type. Declare each version once, in `functions/events/`,
 * and register it in the catalog; version N (N > 1) says how to upcast from version N - 1.
 *
 * @example
 * const OrderPlacedV1 = defineEvent({ type: 'OrderPlaced', version: 1, description: '…', schema: v1 });
 * const OrderPlacedV2 = defineEvent({
 *   type: 'OrderPlaced', version: 2, description: '…', schema: v2,
 *   upcast: { from: OrderPlacedV1, run: (v1) => ({ ...v1, currency: 'EUR' }) },
 * });
 */
export function defineEvent<
  const TType extends string,
  const TVersion extends number,
  TSchema extends z.ZodType,
  TPrevious extends AnyEventDefinition = never,
>(
  spec: EventSpec<TType, TVersion, TSchema, TPrevious>,
): EventDefinition<TType, TVersion, TSchema, TPrevious> {
  if (typeof spec.type !== 'string' || !TYPE_PATTERN.test(spec.type)) {
    throw new ValidationError(
      'type',
      `must match ${TYPE_PATTERN} (PascalCase, as EventBridge detail-type)`,
      spec.type,
    );
  }
  if (!Number.isSafeInteger(spec.version) || spec.version < 1) {
    throw new ValidationError(`${spec.type}.version`, 'must be a positive integer', spec.version);
  }
  if (spec.version === 1 && spec.upcast !== undefined) {
    throw new ValidationError(
      `${spec.type} v1 upcast`,
      'must be absent: version 1 has nothing to upcast from',
      'an upcast',
    );
  }
  if (spec.version > 1) {
    const from = spec.upcast?.from;
    if (!from || from.type !== spec.type || from.version !== spec.version - 1) {
      throw new ValidationError(
        `${spec.type} v${spec.version} upcast.from`,
        `must be the definition of ${spec.type} v${spec.version - 1}`,
        from ? `${from.type} v${from.version}` : undefined,
      );
    }
  }
  return {
    type: spec.type,
    version: spec.version,
    schema: spec.schema,
    description: spec.description,
    previous: spec.upcast?.from,
    upcast: spec.upcast?.run as ((data: never) => unknown) | undefined,
  };
}

type PreviousOf<D> = D extends EventDefinition<string, number, z.ZodType, infer P> ? P : never;

/** The latest definition of type `T` among definitions `D`: the one no other definition upcasts from. */
export type LatestDefinition<D extends AnyEventDefinition, T extends D['type']> = Exclude<
  Extract<D, { readonly type: T }>,
  PreviousOf<D>
>;

/** Why an event does not fit the catalog; also the consumer's DLQ `reason`. */
export type EventSchemaFailure = 'UnknownEventType' | 'UnsupportedSchemaVersion' | 'InvalidPayload';

/**
 * An event that does not fit the catalog: an unknown type, a version the catalog does not
 * have (or, for a producer, not the latest), or data that does not match its version's schema.
 * The message names the field (with the zod issue's path), the event type and the version.
 */
export class EventSchemaError extends ValidationError {
  constructor(
    readonly reason: EventSchemaFailure,
    readonly eventType: string,
    readonly schemaVersion: number,
    field: string,
    problem: string,
    given: unknown,
    /** When set, the message says only the type of the value given (consumers log no payloads). */
    redactGiven = false,
  ) {
    super(field, problem, given);
    if (redactGiven) {
      this.message = `${field} ${problem} (given ${given === null ? 'null' : `a value of type ${typeof given}`})`;
    }
  }
}

/** How a caller wants catalog errors reported. */
export interface CatalogCheckOptions {
  /** Prefix of the field names in errors, e.g. `events[0]`. @default none: `type`, `data.total` */
  readonly field?: string;
  /** Report only the type of invalid values, never the values. @default false */
  readonly redactValues?: boolean;
}

/** An event's data after validation (and, for {@link EventCatalog.decode}, upcasting). */
export interface CheckedData {
  /** The version `data` is in. */
  readonly version: number;
  /** The schema's output: unknown fields dropped, values as the schema parsed them. */
  readonly data: unknown;
}

/**
 * The registry of event types and versions. Built once from every definition; refuses
 * duplicates and versions that do not run 1..N with an upcast between each.
 *
 * @example
 * const catalog = new EventCatalog([OrderPlacedV1, OrderPlacedV2, OrderCancelledV1]);
 * catalog.latest('OrderPlaced').version; // 2
 * catalog.decode('OrderPlaced', 1, v1Data); // { version: 2, data: { ...v1Data, currency: 'EUR' } }
 */
export class EventCatalog<D extends AnyEventDefinition> {
  /** Every definition, in registration order. */
  readonly definitions: ReadonlyArray<D>;
  private readonly byType = new Map<string, D[]>();

  constructor(definitions: ReadonlyArray<D>) {
    this.definitions = [...definitions];
    for (const definition of definitions) {
      const versions = this.byType.get(definition.type) ?? [];
      if (versions.some((known) => known.version === definition.version)) {
        throw new ValidationError(
          'catalog',
          `declares ${definition.type} v${definition.version} twice`,
          definition.type,
        );
      }
      versions.push(definition);
      this.byType.set(definition.type, versions);
    }
    for (const [type, versions] of this.byType) {
      versions.sort((a, b) => a.version - b.version);
      versions.forEach((definition, index) => {
        if (definition.version !== index + 1) {
          throw new ValidationError(
            'catalog',
            `must declare ${type} versions 1..${versions.length} with no gap`,
            versions.map((v) => v.version).join(', '),
          );
        }
        if (index > 0 && definition.previous !== versions[index - 1]) {
          throw new ValidationError(
            'catalog',
            `${type} v${definition.version} must upcast from the registered ${type} v${index}`,
            'another definition',
          );
        }
      });
    }
  }

  /** Event types, in registration order. */
  get types(): ReadonlyArray<D['type']> {
    return [...this.byType.keys()];
  }

  /** Whether `type` is in the catalog. */
  has(type: string): type is D['type'] {
    return this.byType.has(type);
  }

  /** The versions of a type, oldest first (empty if the type is unknown). */
  versions(type: string): number[] {
    return (this.byType.get(type) ?? []).map((definition) => definition.version);
  }

  /** One version of one type, or undefined. */
  find(type: string, version: number): D | undefined {
    return this.byType.get(type)?.find((definition) => definition.version === version);
  }

  /** The latest version of a type. */
  latest<T extends D['type']>(type: T): LatestDefinition<D, T> {
    const latest = this.byType.get(type)?.at(-1);
    if (!latest) throw this.unknownType(type, 1, {});
    return latest as LatestDefinition<D, T>;
  }

  /**
   * Validates data of one version of one type, as written by a producer: the type must be in the
   * catalog, the version must be its latest (`undefined` means the latest) and the data must match.
   *
   * @throws EventSchemaError (reason UnknownEventType, UnsupportedSchemaVersion or InvalidPayload)
   */
  encode(
    type: string,
    version: number | undefined,
    data: unknown,
    options: CatalogCheckOptions = {},
  ): CheckedData {
    const definitions = this.byType.get(type);
    if (!definitions) throw this.unknownType(type, version ?? 1, options);
    const latest = definitions.at(-1) as D;
    if (version !== undefined && version !== latest.version) {
      throw new EventSchemaError(
        'UnsupportedSchemaVersion',
        type,
        version,
        fieldName(options, 'schemaVersion'),
        `of ${type} must be its latest version ${latest.version}: producers write the latest, consumers upcast`,
        version,
      );
    }
    return { version: latest.version, data: validate(latest, data, options) };
  }

  /**
   * Validates data of one version of one type, as a consumer receives it, and upcasts it to the
   * latest version through each version's `upcast`, validating every step.
   *
   * @throws EventSchemaError (reason UnknownEventType, UnsupportedSchemaVersion or InvalidPayload)
   */
  decode(type: string, version: number, data: unknown, options: CatalogCheckOptions = {}): CheckedData {
    const definitions = this.byType.get(type);
    if (!definitions) throw this.unknownType(type, version, options);
    const received = definitions.find((definition) => definition.version === version);
    if (!received) {
      throw new EventSchemaError(
        'UnsupportedSchemaVersion',
        type,
        version,
        fieldName(options, 'schemaversion'),
        `of ${type} must be one of the catalog's versions ${definitions.map((d) => d.version).join(', ')}`,
        version,
      );
    }
    let value = validate(received, data, options);
    for (const next of definitions.slice(version)) {
      const upcast = next.upcast as ((data: unknown) => unknown) | undefined;
      if (!upcast) throw new Error(`${type} v${next.version} has no upcast`);
      let upcasted: unknown;
      try {
        upcasted = upcast(value);
      } catch (error) {
        // Deterministic: retrying the same data cannot succeed, so it is a payload failure, not a transient one.
        throw new EventSchemaError(
          'InvalidPayload',
          type,
          version,
          fieldName(options, 'data'),
          `cannot be upcast from ${type} v${next.version - 1} to v${next.version}: ${(error as Error).message}`,
          value,
          true,
        );
      }
      value = validate(next, upcasted, options, next.version - 1);
    }
    return { version: definitions.length, data: value };
  }

  private unknownType(type: string, version: number, options: CatalogCheckOptions): EventSchemaError {
    return new EventSchemaError(
      'UnknownEventType',
      type,
      version,
      fieldName(options, 'type'),
      `is not in the event catalog (known: ${this.types.join(', ')})`,
      type,
    );
  }
}

/** The outcome of {@link parseWithSchema}: the schema's output, or its first issue. */
export type SchemaParse<T> =
  | { readonly ok: true; readonly data: T }
  | {
      readonly ok: false;
      /** Where the first issue is, e.g. `['lines', 0, 'sku']`. */
      readonly path: ReadonlyArray<PropertyKey>;
      readonly message: string;
      /** The value found at `path`. */
      readonly given: unknown;
      /** How many issues the schema found. */
      readonly issues: number;
    };

/**
 * Parses data with a zod schema through the Powertools parser: the one place that turns a
 * schema's issues into a field path, a message and the value given (the catalog and the order
 * API both report through it).
 */
export function parseWithSchema<S extends z.ZodType>(schema: S, data: unknown): SchemaParse<z.output<S>> {
  const result = parse(data, undefined, schema, true);
  if (result.success) return { ok: true, data: result.data as z.output<S> };
  const issues = (result.error.cause ?? []) as ReadonlyArray<{
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
  }>;
  const issue = issues[0];
  const path = (issue?.path ?? []).map((segment) => (typeof segment === 'object' ? segment.key : segment));
  return {
    ok: false,
    path,
    message: issue?.message ?? 'invalid',
    given: valueAt(data, path),
    issues: issues.length,
  };
}

/** Parses data with a definition's schema; throws EventSchemaError naming the path. */
function validate(
  definition: AnyEventDefinition,
  data: unknown,
  options: CatalogCheckOptions,
  upcastFrom?: number,
): unknown {
  const result = parseWithSchema(definition.schema, data);
  if (result.ok) return result.data;
  const subject = `${definition.type} v${definition.version}`;
  throw new EventSchemaError(
    'InvalidPayload',
    definition.type,
    definition.version,
    fieldName(options, formatPath(['data', ...result.path])),
    `does not match ${subject}${upcastFrom ? ` after upcasting from v${upcastFrom}` : ''}: ${result.message}${
      result.issues > 1 ? ` (and ${result.issues - 1} more issues)` : ''
    }`,
    result.given,
    options.redactValues,
  );
}

function fieldName(options: CatalogCheckOptions, field: string): string {
  return options.field ? `${options.field}.${field}` : field;
}

/** `['data', 'lines', 0, 'sku']` → `data.lines[0].sku`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((segment, index) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const key = String(segment);
      if (/^[A-Za-z_$][\w$]*$/.test(key)) return index === 0 ? key : `.${key}`;
      return `[${JSON.stringify(key)}]`;
    })
    .join('');
}

function valueAt(data: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value: unknown = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}
