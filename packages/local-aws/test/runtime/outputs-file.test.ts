/** startLocalAws's outputs file, as `cdk deploy --outputs-file` writes it, and the start-up checks. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeRuntimeMismatchError } from '../../src/lambda/node-runtime';
import { startLocalAws } from '../../src/runtime/local-aws';
import { fixtureStack, fixtureTemplate, functionWithRuntime } from '../fixtures/stack/template';

const directory = mkdtempSync(join(tmpdir(), 'local-aws-outputs-'));

afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe('startLocalAws outputsFile', () => {
  it('writes the resolved outputs under the stack name while running and removes the file at stop()', async () => {
    // Arrange
    const file = join(directory, 'nested', 'outputs.json');
    const local = await startLocalAws(fixtureStack(), { outputsFile: file, scheduleIntervalMs: 0 });
    let written: unknown;
    try {
      // Act
      written = JSON.parse(readFileSync(file, 'utf8'));
    } finally {
      await local.stop();
    }

    // Assert
    expect(written).toEqual({ FixtureStack: local.outputs });
    expect(local.outputs).toMatchObject({ BucketName: 'failedbatches', TableName: 'Orders' });
    expect(existsSync(file)).toBe(false);
  });

  it('refuses an empty outputsFile before starting anything', async () => {
    // Act
    const starting = startLocalAws(fixtureStack(), { outputsFile: ' ' });

    // Assert
    await expect(starting).rejects.toThrow('outputsFile must be a file path (given " ")');
  });
});

describe('startLocalAws Node runtime check', () => {
  it('fails start-up naming the function, its runtime and the Node that runs', async () => {
    // Arrange
    const running = Number(process.versions.node.split('.')[0]);
    const stack = fixtureStack(fixtureTemplate({ Legacy: functionWithRuntime(`nodejs${running - 2}.x`) }));

    // Act
    const starting = startLocalAws(stack);

    // Assert
    await expect(starting).rejects.toThrow(NodeRuntimeMismatchError);
    await expect(starting).rejects.toThrow(
      `Legacy declares runtime nodejs${running - 2}.x, but the local runtime runs Node ${process.versions.node}`,
    );
  });
});
