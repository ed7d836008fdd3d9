/** The check of each function's Node.js runtime against the Node running the local runtime. */
import { describe, expect, it } from 'vitest';
import { checkNodeRuntimes, NodeRuntimeMismatchError } from '../../src/lambda/node-runtime';

describe('checkNodeRuntimes', () => {
  it('accepts functions that declare the running major', () => {
    // Act
    const checking = () => checkNodeRuntimes([{ logicalId: 'Api', runtime: 'nodejs24.x' }], '24.21.0');

    // Assert
    expect(checking).not.toThrow();
  });

  it('names every function that declares another major, the Node that runs, and what to do', () => {
    // Arrange
    const functions = [
      { logicalId: 'Api', runtime: 'nodejs22.x' },
      { logicalId: 'Relay', runtime: 'nodejs24.x' },
      { logicalId: 'Sweeper', runtime: 'nodejs20.x' },
    ];

    // Act
    const checking = () => checkNodeRuntimes(functions, '24.21.0');

    // Assert
    expect(checking).toThrow(NodeRuntimeMismatchError);
    expect(checking).toThrow(
      'Api declares runtime nodejs22.x, Sweeper declares runtime nodejs20.x, but the local runtime runs Node 24.21.0',
    );
    expect(checking).toThrow(/Run through the npm scripts .* node devDependency .* nodejs24\.x/);
  });

  it('checks against the Node running this process by default', () => {
    // Arrange
    const running = Number(process.versions.node.split('.')[0]);

    // Act
    const checking = () => checkNodeRuntimes([{ logicalId: 'Api', runtime: `nodejs${running + 1}.x` }]);

    // Assert
    expect(checking).toThrow(`but the local runtime runs Node ${process.versions.node}`);
  });

  it('refuses a Node version it cannot read', () => {
    // Act
    const checking = () => checkNodeRuntimes([], 'latest');

    // Assert
    expect(checking).toThrow('not a Node version: "latest"');
  });
});
