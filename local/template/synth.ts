import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
const SOURCES = ['lib', 'functions', 'bin', 'package-lock.json', 'cdk.json'];

/**
 * Synthesizes the same stack that deploys (same constructs, same esbuild
 * bundles) into `outdir`, or reuses the last synth when no source changed.
 * The local runtime reads everything it runs from this output.
 */
export async function synthesizeStack(
  options: { outdir?: string; force?: boolean } = {},
): Promise<SynthesizedStack> {
  const started = Date.now();
  const assemblyDir = options.outdir ?? join(PROJECT_ROOT, '.local', 'cdk.out');
  const templatePath = join(assemblyDir, `${STACK_NAME}.template.json`);
  const fingerprintPath = join(assemblyDir, '.sources-fingerprint');
  const fingerprint = sourcesFingerprint();
  if (
    !options.force &&
    existsSync(templatePath) &&
    existsSync(fingerprintPath) &&
    readFileSync(fingerprintPath, 'utf8') === fingerprint
  ) {
    return {
      template: JSON.parse(readFileSync(templatePath, 'utf8')),
      assemblyDir,
      cached: true,
      durationMs: Date.now() - started,
    };
  }
  // Imported lazily: aws-cdk-lib takes a second to load and a cached run never needs it.
  const { App, RemovalPolicy } = await import('aws-cdk-lib');
  const { OutboxPipelineStack } = await import('../../lib/outbox-pipeline-stack');
  const app = new App({ outdir: assemblyDir });
  new OutboxPipelineStack(app, STACK_NAME, { removalPolicy: RemovalPolicy.DESTROY });
  app.synth();
  writeFileSync(fingerprintPath, fingerprint);
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
