import { synthesizeOutboxStack } from '../local/pipeline';

/**
 * Synthesizes the stack once for the whole run (esbuild bundles included), so
 * that integration suites read the same template and bundles in parallel
 * instead of racing to write them.
 */
export default async function setup(): Promise<void> {
  await synthesizeOutboxStack();
}
