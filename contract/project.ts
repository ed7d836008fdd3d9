import { fileURLToPath } from 'node:url';

/**
 * Absolute path of the project root (ending in a path separator), derived from this file's
 * location so that synth, the local runtime and the tools work from any working directory.
 */
export const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
