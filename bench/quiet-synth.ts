import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SynthesizedStack } from 'local-aws';
import { PROJECT_ROOT } from '../contract/project';
import { cachedTemplatePath, synthesizeOutboxStack } from '../local/pipeline';

/**
 * The synthesized stack (template and bundles), as the local runtime uses it.
 * A synth that is not cached yet runs in a child process with its output
 * captured, because CDK's esbuild bundling prints to the terminal and would
 * end up in the benchmark's stdout; the output is shown only if it fails.
 */
export async function synthesizeQuietly(): Promise<SynthesizedStack & { synthMs: number }> {
  const started = performance.now();
  if (!existsSync(cachedTemplatePath())) {
    const synthModule = pathToFileURL(join(PROJECT_ROOT, 'local', 'pipeline.ts')).href;
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const output: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          tsx,
          '--input-type=module',
          '-e',
          `import { synthesizeOutboxStack } from ${JSON.stringify(synthModule)}; await synthesizeOutboxStack();`,
        ],
        { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`cdk synth failed (exit code ${code}):\n${output.join('').slice(-4000)}`);
  }
  const stack = await synthesizeOutboxStack();
  return { ...stack, synthMs: Math.round(performance.now() - started) };
}
