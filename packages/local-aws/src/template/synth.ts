import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** A synthesized stack: its template and the folder holding its bundled assets. */
export interface SynthesizedStack {
  readonly stackName: string;
  readonly template: Record<string, unknown>;
  readonly assemblyDir: string;
  /** True when a previous synth with the same sources was reused. */
  readonly cached: boolean;
  readonly durationMs: number;
}

/** How to synthesize one CDK app, and what its output depends on. */
export interface CdkAppSource {
  /** The app's root folder; `sources` are relative to it. */
  readonly projectRoot: string;
  /** The stack to run, as named in the cloud assembly (`<stackName>.template.json`). */
  readonly stackName: string;
  /** Files and folders whose content decides the template and bundles (hashed to reuse a synth). */
  readonly sources: ReadonlyArray<string>;
  /**
   * Synthesizes the app into `outdir`. The CDK CLI sets the context `aws:cdk:enable-asset-metadata`;
   * an in-process synth must set it too, or functions lack the `aws:asset:path` the runtime loads.
   *
   * @example
   * async synth(outdir) {
   *   const { App } = await import('aws-cdk-lib');
   *   const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
   *   new MyStack(app, 'MyStack');
   *   app.synth();
   * }
   */
  synth(outdir: string): Promise<void>;
}

const STALE_AFTER_MS = 60 * 60 * 1000;

/**
 * Synthesizes a CDK app (same constructs, same bundles as a deploy), or reuses the synth of
 * identical sources. Each synth lands in `<cacheDir>/<sources fingerprint>/`, written to a
 * temporary folder and renamed into place, so two processes at once never read a half-written
 * or replaced bundle.
 */
export async function synthesizeCdkApp(
  app: CdkAppSource,
  options: { readonly cacheDir: string; readonly force?: boolean },
): Promise<SynthesizedStack> {
  const started = Date.now();
  const fingerprint = sourcesFingerprint(app.projectRoot, app.sources);
  const assemblyDir = join(options.cacheDir, fingerprint.slice(0, 16));
  const templatePath = join(assemblyDir, `${app.stackName}.template.json`);
  const result = (cached: boolean): SynthesizedStack => ({
    stackName: app.stackName,
    template: JSON.parse(readFileSync(templatePath, 'utf8')),
    assemblyDir,
    cached,
    durationMs: Date.now() - started,
  });
  if (!options.force && existsSync(templatePath)) return result(true);
  mkdirSync(options.cacheDir, { recursive: true });
  const scratch = join(options.cacheDir, `tmp-${process.pid}-${Date.now().toString(36)}`);
  await app.synth(scratch);
  if (!existsSync(join(scratch, `${app.stackName}.template.json`))) {
    rmSync(scratch, { recursive: true, force: true });
    throw new Error(`the app's synth wrote no ${app.stackName}.template.json: is stackName right?`);
  }
  if (options.force) rmSync(assemblyDir, { recursive: true, force: true });
  try {
    renameSync(scratch, assemblyDir);
  } catch {
    // Another process finished the same synth first; its output is identical.
    rmSync(scratch, { recursive: true, force: true });
  }
  removeStale(options.cacheDir, assemblyDir);
  return result(false);
}

/** Hash of every source file that affects the synthesized template or bundles. */
export function sourcesFingerprint(projectRoot: string, sources: ReadonlyArray<string>): string {
  const hash = createHash('sha256');
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) visit(join(path, entry));
    } else {
      hash.update(relative(projectRoot, path));
      hash.update(readFileSync(path));
    }
  };
  for (const source of sources) visit(join(projectRoot, source));
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
