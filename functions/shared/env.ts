import { ConfigurationError } from './errors';

/**
 * Reads a required environment variable once; throws `"<NAME> environment variable is not set"`.
 *
 * @example const tableName = requireEnv(ENV.tableName);
 */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigurationError(`${name} environment variable is not set`);
  }
  return value;
}

/** Reads a required environment variable holding a positive integer. */
export function requirePositiveIntEnv(name: string, env: NodeJS.ProcessEnv = process.env): number {
  const raw = requireEnv(name, env);
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigurationError(
      `${name} environment variable must be a positive integer (given ${JSON.stringify(raw)})`,
    );
  }
  return value;
}

/** Reads a required environment variable holding a JSON array of non-empty strings. */
export function requireStringListEnv(name: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = requireEnv(name, env);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigurationError(
      `${name} environment variable must be a JSON array of strings (given ${JSON.stringify(raw)})`,
    );
  }
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string' && v.length > 0)) {
    throw new ConfigurationError(
      `${name} environment variable must be a JSON array of strings (given ${JSON.stringify(raw)})`,
    );
  }
  return parsed;
}
