import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type CdkAppSource,
  type LocalAws,
  type LocalAwsOptions,
  type SynthesizedStack,
  sourcesFingerprint,
  startLocalAws,
  synthesizeCdkApp,
} from 'local-aws';
import { PROJECT_ROOT } from '../contract/project';

/** The stack the local runtime runs: the same one `cdk deploy` deploys. */
export const LOCAL_STACK_NAME = 'OutboxPipeline';

/** Where `npm start -- --keep` records the running pipeline's endpoints and outputs for other tools. */
export const LOCAL_STATE_FILE = join(PROJECT_ROOT, '.local', 'pipeline.json');

/** Where `npm start -- --keep` writes the stack outputs, as `cdk deploy --outputs-file` would (the e2e suite reads it). */
export const LOCAL_OUTPUTS_FILE = join(PROJECT_ROOT, '.local', 'outputs.json');

/** Where function logs go: `.local/logs/<function logical id>.log`. */
export const LOCAL_LOG_DIR = join(PROJECT_ROOT, '.local', 'logs');

/** Where synths are kept, one folder per fingerprint of the sources. */
export const SYNTH_CACHE_DIR = join(PROJECT_ROOT, '.local', 'synth');

/** The files whose content decides the template and the bundles, from the project root. */
export const APP_SOURCES = [
  'contract',
  'lib',
  'functions',
  'bin',
  'package-lock.json',
  'cdk.json',
  'local/pipeline.ts',
];

/**
 * The app under `root` for the local runtime: its stack, synthesized in-process from that root's
 * own `lib/` (a scaffolded copy of the project synthesizes its own registry and consumers).
 */
export function outboxApp(root: string = PROJECT_ROOT): CdkAppSource {
  return {
    projectRoot: root,
    stackName: LOCAL_STACK_NAME,
    sources: APP_SOURCES,
    async synth(outdir) {
      // Imported lazily: aws-cdk-lib takes a second to load and a cached run never needs it.
      const [{ App, RemovalPolicy }, { OutboxPipelineStack }] = await Promise.all([
        import('aws-cdk-lib'),
        root === PROJECT_ROOT
          ? import('../lib/outbox-pipeline-stack')
          : (import(pathToFileURL(join(root, 'lib', 'outbox-pipeline-stack.ts')).href) as Promise<
              typeof import('../lib/outbox-pipeline-stack')
            >),
      ]);
      // The CLI sets this context; in-process synth must ask for it to get `aws:asset:path` on functions.
      const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
      new OutboxPipelineStack(app, LOCAL_STACK_NAME, { removalPolicy: RemovalPolicy.DESTROY });
      app.synth();
    },
  };
}

/** This app for the local runtime: the same stack `cdk deploy` deploys. */
export const OUTBOX_APP: CdkAppSource = outboxApp();

/**
 * Synthesizes this app's stack in-process (same constructs and esbuild bundles as a deploy), or
 * reuses the synth of identical sources from `.local/synth/`.
 */
export async function synthesizeOutboxStack(
  options: { force?: boolean; app?: CdkAppSource } = {},
): Promise<SynthesizedStack> {
  return synthesizeCdkApp(options.app ?? OUTBOX_APP, { cacheDir: SYNTH_CACHE_DIR, force: options.force });
}

/** Where the template of the current sources is, once synthesized. */
export function cachedTemplatePath(): string {
  return join(
    SYNTH_CACHE_DIR,
    sourcesFingerprint(PROJECT_ROOT, OUTBOX_APP.sources).slice(0, 16),
    `${LOCAL_STACK_NAME}.template.json`,
  );
}

/** Options of {@link startOutboxPipeline}: the local runtime's, plus a forced synth. */
export interface OutboxPipelineOptions extends LocalAwsOptions {
  /** Re-synthesize even if no source changed. @default false */
  readonly forceSynth?: boolean;
  /** Another copy of the app (e.g. one with scaffolded consumers). @default this project */
  readonly app?: CdkAppSource;
}

/** Synthesizes the stack and runs it locally (see the local-aws package), logging to `.local/logs/`. */
export async function startOutboxPipeline(
  options: OutboxPipelineOptions = {},
): Promise<LocalAws & { synth: SynthesizedStack }> {
  const synth = await synthesizeOutboxStack({ force: options.forceSynth, app: options.app });
  options.log?.(
    `stack ${synth.cached ? 'reused from the last synth' : 'synthesized'} in ${synth.durationMs} ms`,
  );
  const local = await startLocalAws(synth, { logDir: LOCAL_LOG_DIR, ...options });
  return Object.assign(local, { synth });
}
