import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { catalog } from '../../functions/events/catalog';
import {
  defineEvent,
  EventCatalog,
  EventSchemaError,
  formatPath,
} from '../../functions/events/event-catalog';
import { OrderPlacedV1, OrderPlacedV2 } from '../../functions/events/order-events';
import { ValidationError } from '../../functions/shared/errors';

const v1 = { customerId: 'c-1', lines: [{ sku: 'SKU-1', quantity: 1, unitPrice: 100 }], total: 100 };

describe('the event catalog', () => {
  it('looks up a type by version and knows its latest version', () => {
    expect(catalog.find('OrderPlaced', 1)).toBe(OrderPlacedV1);
    expect(catalog.find('OrderPlaced', 3)).toBeUndefined();
    expect(catalog.latest('OrderPlaced')).toBe(OrderPlacedV2);
    expect(catalog.versions('OrderPlaced')).toEqual([1, 2]);
    expect(catalog.types).toEqual(['OrderPlaced', 'OrderItemAdded', 'OrderConfirmed', 'OrderCancelled']);
  });

  it('upcasts OrderPlaced v1 to v2 with currency EUR', () => {
    expect(catalog.decode('OrderPlaced', 1, v1)).toEqual({ version: 2, data: { ...v1, currency: 'EUR' } });
  });

  it('keeps a v2 event as it is, minus the fields its schema does not declare', () => {
    expect(catalog.decode('OrderPlaced', 2, { ...v1, currency: 'USD', extra: 1 })).toEqual({
      version: 2,
      data: { ...v1, currency: 'USD' },
    });
  });

  it('validates the received version before upcasting, naming the version', () => {
    expect(() => catalog.decode('OrderPlaced', 1, { ...v1, total: -1 })).toThrow(
      'data.total does not match OrderPlaced v1: Too small: expected number to be >=0 (given -1)',
    );
  });

  it('validates what an upcast produced, naming both versions', () => {
    // Given a v2 whose upcast forgets the new field
    const v2 = defineEvent({
      type: 'OrderPlaced',
      version: 2,
      description: 'test',
      schema: OrderPlacedV1.schema.extend({ currency: z.string() }),
      upcast: { from: OrderPlacedV1, run: (data) => data as never },
    });

    // Then
    expect(() => new EventCatalog([OrderPlacedV1, v2]).decode('OrderPlaced', 1, v1)).toThrow(
      /data.currency does not match OrderPlaced v2 after upcasting from v1: Invalid input/,
    );
  });

  it('reports an upcast that throws as an invalid payload, not a transient error', () => {
    const v2 = defineEvent({
      type: 'OrderPlaced',
      version: 2,
      description: 'test',
      schema: OrderPlacedV1.schema,
      upcast: {
        from: OrderPlacedV1,
        run: () => {
          throw new Error('no rate for this date');
        },
      },
    });
    expect(() => new EventCatalog([OrderPlacedV1, v2]).decode('OrderPlaced', 1, v1)).toThrow(
      expect.objectContaining({
        reason: 'InvalidPayload',
        message:
          'data cannot be upcast from OrderPlaced v1 to v2: no rate for this date (given a value of type object)',
      }),
    );
  });

  it('reports unknown types and versions with a reason', () => {
    const failure = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(failure(() => catalog.decode('OrderTeleported', 1, {}))).toMatchObject({
      reason: 'UnknownEventType',
      eventType: 'OrderTeleported',
    });
    expect(failure(() => catalog.decode('OrderPlaced', 3, v1))).toMatchObject({
      reason: 'UnsupportedSchemaVersion',
      schemaVersion: 3,
    });
    expect(failure(() => catalog.decode('OrderPlaced', 3, v1))).toBeInstanceOf(EventSchemaError);
  });

  it('only says the type of an invalid value when asked to redact values', () => {
    expect(() =>
      catalog.decode('OrderCancelled', 1, { reason: 'x'.repeat(201) }, { redactValues: true }),
    ).toThrow(/data.reason does not match OrderCancelled v1: .* \(given a value of type string\)$/);
  });

  it('refuses a version without an upcast from the previous one', () => {
    expect(() =>
      defineEvent({ type: 'OrderPlaced', version: 2, description: 'x', schema: z.object({}) } as never),
    ).toThrow(/OrderPlaced v2 upcast.from must be the definition of OrderPlaced v1/);
  });

  it('refuses a catalog with a missing version or a duplicate', () => {
    expect(() => new EventCatalog([OrderPlacedV2])).toThrow(
      /must declare OrderPlaced versions 1..1 with no gap/,
    );
    expect(() => new EventCatalog([OrderPlacedV1, OrderPlacedV1])).toThrow(ValidationError);
    expect(() => new EventCatalog([OrderPlacedV1, OrderPlacedV1])).toThrow(/declares OrderPlaced v1 twice/);
  });

  it('refuses a type name that cannot be an EventBridge detail-type of ours', () => {
    expect(() =>
      defineEvent({ type: 'order placed', version: 1, description: 'x', schema: z.object({}) }),
    ).toThrow(/type must match/);
  });

  it('formats zod issue paths as property accessors', () => {
    expect(formatPath(['data', 'lines', 0, 'sku'])).toBe('data.lines[0].sku');
    expect(formatPath(['data', 'odd key'])).toBe('data["odd key"]');
  });
});
