import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CdkAppSource } from 'local-aws';
import { PROJECT_ROOT } from '../../contract/project';
import { run as newConsumer } from '../../tools/new-consumer/main';
import { outboxApp } from '../pipeline';

/** A consumer the chaos run scaffolds, as `npm run new:consumer -- <argv>` would. */
export interface ScaffoldedConsumer {
  readonly name: string;
  readonly ordered: boolean;
  /** Event types its `handle` gets (and counts, as the scaffold's template does). */
  readonly handles: ReadonlyArray<string>;
  readonly argv: ReadonlyArray<string>;
}

/** One unordered and one ordered consumer, exactly as a user would add them. */
export const CHAOS_CONSUMERS: ReadonlyArray<ScaffoldedConsumer> = [
  {
    name: 'chaos-audit',
    ordered: false,
    handles: ['OrderPlaced', 'OrderConfirmed'],
    argv: ['chaos-audit', '--events', 'OrderPlaced,OrderConfirmed'],
  },
  {
    name: 'chaos-timeline',
    ordered: true,
    handles: ['OrderPlaced', 'OrderItemAdded', 'OrderConfirmed', 'OrderCancelled'],
    argv: ['chaos-timeline', '--ordered'],
  },
];

/** What the copy holds besides node_modules (linked): everything synth, bundling and the scaffold read. */
const COPIED = [
  'contract',
  'lib',
  'functions',
  'bin',
  'tools',
  'local',
  'test',
  'package.json',
  'package-lock.json',
  'cdk.json',
  'tsconfig.json',
];

/** A copy of this project with consumers scaffolded into it; `remove()` deletes the copy. */
export interface ScaffoldedApp {
  readonly root: string;
  readonly app: CdkAppSource;
  readonly consumers: ReadonlyArray<ScaffoldedConsumer>;
  remove(): void;
}

/** The scaffold refused a consumer: its output says why. */
export class ScaffoldFailedError extends Error {
  override readonly name = 'ScaffoldFailedError';
}

/**
 * Copies the project to a temporary folder and runs the scaffold there for each consumer, as
 * `npm run new:consumer` does in a clone: the copy deploys the examples plus the scaffolded
 * consumers, and this working tree is left as it was.
 */
export function scaffoldedApp(consumers: ReadonlyArray<ScaffoldedConsumer> = CHAOS_CONSUMERS): ScaffoldedApp {
  const root = mkdtempSync(join(tmpdir(), 'outbox-scaffolded-'));
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    for (const entry of COPIED) {
      const from = join(PROJECT_ROOT, entry);
      if (existsSync(from)) cpSync(from, join(root, entry), { recursive: true });
    }
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    for (const consumer of consumers) {
      const output: string[] = [];
      const code = newConsumer(consumer.argv, {
        root,
        out: (line) => output.push(line),
        err: (line) => output.push(line),
      });
      if (code !== 0) {
        throw new ScaffoldFailedError(
          `npm run new:consumer -- ${consumer.argv.join(' ')} exited ${code}: ${output.join(' ')}`,
        );
      }
    }
    return { root, app: outboxApp(root), consumers, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
