/** How mappings tell access denials from other errors and report them once. */
import { describe, expect, it } from 'vitest';
import { S3RequestError } from '../../src/engines/s3-client';
import { isAccessDenied, PermissionProblem } from '../../src/event-source-mappings/permission-problem';

const named = (name: string, message = 'User: x is not authorized') =>
  Object.assign(new Error(message), { name });

describe('isAccessDenied', () => {
  it('recognises AccessDenied in the DynamoDB, SQS and S3 shapes and nothing else', () => {
    // Act
    const verdicts = [
      named('AccessDeniedException'),
      named('AccessDenied'),
      new S3RequestError('PutObject', 403, 'AccessDenied: no'),
      new S3RequestError('PutObject', 500, 'InternalError'),
      named('ThrottlingException'),
      named('ResourceNotFoundException'),
      'AccessDenied',
      undefined,
    ].map(isAccessDenied);

    // Assert
    expect(verdicts).toEqual([true, true, true, false, false, false, false, false]);
  });
});

describe('PermissionProblem', () => {
  it('reports a denial once while it repeats, again when it changes, and its end once', () => {
    // Arrange
    const reports: string[] = [];
    const problem = new PermissionProblem((message) => reports.push(message));

    // Act
    const noted = [
      problem.note(named('AccessDenied', 'first'), 'polling'),
      problem.note(named('AccessDenied', 'first'), 'polling'),
      problem.note(named('AccessDenied', 'second'), 'polling'),
      problem.note(named('Throttling'), 'polling'),
    ];
    const during = problem.lastProcessingResult;
    problem.clear();
    problem.clear();

    // Assert
    expect(noted).toEqual([true, true, true, false]);
    expect(during).toBe('PROBLEM: polling was refused: second');
    expect(problem.lastProcessingResult).toBeUndefined();
    expect(problem.refusedCalls).toBe(3);
    expect(reports).toEqual([
      expect.stringMatching(/^polling was refused: first\. The mapping keeps retrying/),
      expect.stringMatching(/^polling was refused: second\. /),
      'the permission problem is over: polling works again',
    ]);
  });
});
