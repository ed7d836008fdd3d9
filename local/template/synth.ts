import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (two levels above local/template). */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A synthesized stack: its template and the folder holding its bundled assets. */
export interface SynthesizedStack {
  readonly template: Record<string, unknown>;
  readonly assemblyDir: string;
  /** True when a previous synth with the same sources was reused. */
  readonly cached: boolean;
  readonly durationMs: number;
}

const STACK_NAME = 'OutboxPipeline';
const SOURCES = ['lib', 'functions', 'bin', 'package-lock.json', 'cdk.json', 'local/template/synth.ts'];
const STALE_AFTER_MS = 60 * 60 * 1000;

/**
 * Synthesizes the same stack that deploys (same constructs, same esbuild
 * bundles), or reuses the synth of identical sources. The local runtime reads
 * everything it runs from this output.
 *
 * Each synth lands in `<root>/<sources fingerprint>/`, written to a temporary
 * folder and renamed into place, so a test run and `npm start` at the same time
 * never read a half-written or replaced bundle.
 */
export async function synthesizeStack(
  options: { root?: string; force?: boolean } = {},
): Promise<SynthesizedStack> {
  const started = Date.now();
  const root = options.root ?? join(PROJECT_ROOT, '.local', 'synth');
  const fingerprint = sourcesFingerprint();
  const assemblyDir = join(root, fingerprint.slice(0, 16));
  const templatePath = join(assemblyDir, `${STACK_NAME}.template.json`);
  if (!options.force && existsSync(templatePath)) {
    return {
      template: JSON.parse(readFileSync(templatePath, 'utf8')),
      assemblyDir,
      cached: true,
      durationMs: Date.now() - started,
    };
  }
  mkdirSync(root, { recursive: true });
  const scratch = join(root, `tmp-${process.pid}-${Date.now().toString(36)}`);
  // Imported lazily: aws-cdk-lib takes a second to load and a cached run never needs it.
  const { App, RemovalPolicy } = await import('aws-cdk-lib');
  const { OutboxPipelineStack } = await import('../../lib/outbox-pipeline-stack');
  // The CLI sets this context; in-process synth must ask for it to get `aws:asset:path` on functions.
  const app = new App({ outdir: scratch, context: { 'aws:cdk:enable-asset-metadata': true } });
  new OutboxPipelineStack(app, STACK_NAME, { removalPolicy: RemovalPolicy.DESTROY });
  app.synth();
  if (options.force) rmSync(assemblyDir, { recursive: true, force: true });
  try {
    renameSync(scratch, assemblyDir);
  } catch {
    // Another process finished the same synth first; its output is identical.
    rmSync(scratch, { recursive: true, force: true });
  }
  removeStale(root, assemblyDir);
  return {
    template: JSON.parse(readFileSync(templatePath, 'utf8')),
    assemblyDir,
    cached: false,
    durationMs: Date.now() - started,
  };
}

/** Hash of every source file that affects the synthesized template or bundles. */
export function sourcesFingerprint(): string {
  const hash = createHash('sha256');
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) visit(join(path, entry));
    } else {
      hash.update(relative(PROJECT_ROOT, path));
      hash.update(readFileSync(path));
    }
  };
  for (const source of SOURCES) visit(join(PROJECT_ROOT, source));
  return hash.digest('hex');
}

/** Drops synths of older sources that nobody has touched for an hour. */
function removeStale(root: string, keep: string): void {
  for (const entry of readdirSync(root)) {
    const path = join(root, entry);
    if (path === keep) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_AFTER_MS)
        rmSync(path, { recursive: true, force: true });
    } catch {
      // Being removed by another process: fine.
    }
  }
}
