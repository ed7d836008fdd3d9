import * as z from 'zod';
import type { AnyEventDefinition, EventCatalog } from './event-catalog';

/** One event type and version as a JSON Schema document, with the file it is kept in. */
export interface EventJsonSchema {
  /** `<Type>.v<N>.json`, the name under `functions/events/schemas/`. */
  readonly fileName: string;
  readonly type: string;
  readonly version: number;
  readonly schema: Record<string, unknown>;
}

/**
 * The JSON Schema (draft 2020-12, from zod's `z.toJSONSchema`) of every event type and version
 * of a catalog, describing the `data` of the envelope, for teams that do not use TypeScript.
 *
 * Generated from the schemas' input side: fields a schema does not declare are allowed, as a
 * tolerant reader must allow them (additive changes stay within a version).
 */
export function eventJsonSchemas(eventCatalog: EventCatalog<AnyEventDefinition>): EventJsonSchema[] {
  return eventCatalog.definitions.map((definition) => {
    const { $schema, ...body } = z.toJSONSchema(definition.schema, { io: 'input' }) as Record<
      string,
      unknown
    >;
    return {
      fileName: `${definition.type}.v${definition.version}.json`,
      type: definition.type,
      version: definition.version,
      schema: {
        $schema,
        title: `${definition.type} v${definition.version}`,
        description: definition.description,
        ...body,
      },
    };
  });
}
