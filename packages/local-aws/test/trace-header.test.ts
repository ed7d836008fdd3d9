/** X-Ray trace headers as the emulators read and make them. */
import { describe, expect, it } from 'vitest';
import { lambdaTraceId, newTraceRoot, parseTraceHeader } from '../src/trace-header';

const HEADER = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

describe('parseTraceHeader', () => {
  it('reads Root, Parent and Sampled', () => {
    // Act
    const parsed = parseTraceHeader(HEADER);

    // Assert
    expect(parsed).toEqual({
      root: '1-5759e988-bd862e3fe1be46a994272793',
      parent: '53995c3f42cd8ad8',
      sampled: '1',
    });
  });

  it('keeps a header with fields it does not know, such as Lineage', () => {
    // Act
    const parsed = parseTraceHeader(`${HEADER};Lineage=a87bd80c:1|68fd508a:5`);

    // Assert
    expect(parsed?.root).toBe('1-5759e988-bd862e3fe1be46a994272793');
  });

  it.each([
    ['no Root', 'Parent=53995c3f42cd8ad8;Sampled=1'],
    ['a malformed Root', 'Root=1-xyz;Sampled=1'],
    ['a malformed Parent', 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=nothex'],
    ['a field without "="', 'Root=1-5759e988-bd862e3fe1be46a994272793;garbage'],
    ['more than 500 characters', `${HEADER};Pad=${'x'.repeat(500)}`],
  ])('drops a header with %s', (_name, header) => {
    // Act
    const parsed = parseTraceHeader(header);

    // Assert
    expect(parsed).toBeUndefined();
  });
});

describe('newTraceRoot', () => {
  it('starts with the epoch seconds in hex', () => {
    // Act
    const root = newTraceRoot(Date.parse('2024-05-01T00:00:00Z'));

    // Assert
    expect(root).toMatch(/^1-66318600-[0-9a-f]{24}$/);
  });
});

describe('lambdaTraceId', () => {
  it('continues the caller trace with its Root and Sampled and a new Parent', () => {
    // Act
    const traceId = lambdaTraceId(HEADER);

    // Assert
    expect(traceId).toMatch(/^Root=1-5759e988-bd862e3fe1be46a994272793;Parent=[0-9a-f]{16};Sampled=1$/);
    expect(traceId).not.toContain('Parent=53995c3f42cd8ad8');
  });

  it('starts a new unsampled trace without a valid caller header', () => {
    // Act
    const traceId = lambdaTraceId(undefined);

    // Assert
    expect(traceId).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/);
  });
});
