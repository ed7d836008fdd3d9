/**
 * Who signed a request. Each local function gets its own credentials, issued
 * here for its execution role with the function name as session name (as
 * Lambda does: `arn:aws:sts::<account>:assumed-role/<role>/<function>`); the
 * proxies read the access key id from the SigV4 signature and look it up.
 *
 * Signatures are NOT verified: the secret key is never checked, so anyone on
 * the machine who knows a local access key id can act as that function. This
 * emulates authorization, not authentication.
 */
import { createHash } from 'node:crypto';
import type { CallerPrincipal } from './evaluate';

/** Credentials as a function's environment carries them (AWS_ACCESS_KEY_ID...). */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A role session principal (what a function runs as). */
export type RoleSessionPrincipal = Extract<CallerPrincipal, { kind: 'role-session' }>;

/** What an access key id stands for: the operator (allowed everything) or a role session. */
export type KnownCaller = { readonly kind: 'administrator' } | RoleSessionPrincipal;

/** How a request identified itself. */
export type SigningIdentity =
  | {
      readonly kind: 'signed';
      readonly accessKeyId: string;
      readonly region?: string;
      readonly service?: string;
    }
  | { readonly kind: 'unsigned' };

const CREDENTIAL = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;

/**
 * Reads the access key id from `Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, …`
 * or from a presigned URL's `X-Amz-Credential`. Anything else (no header, another scheme) is unsigned.
 */
export function signingIdentity(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  url = '/',
): SigningIdentity {
  const authorization = headers.authorization;
  const header = typeof authorization === 'string' ? authorization : authorization?.[0];
  let credential = header?.startsWith('AWS4-HMAC-SHA256') ? CREDENTIAL.exec(header) : null;
  if (!credential && url.includes('X-Amz-Credential=')) {
    const query = new URL(url, 'http://local').searchParams.get('X-Amz-Credential') ?? '';
    credential = CREDENTIAL.exec(`Credential=${query}`);
  }
  if (!credential?.[1]) return { kind: 'unsigned' };
  return { kind: 'signed', accessKeyId: credential[1], region: credential[2], service: credential[3] };
}

function digest(text: string, length: number, alphabet: string): string {
  const bytes = createHash('sha256').update(text).digest();
  let result = '';
  for (let i = 0; i < length; i++) result += alphabet[(bytes[i % bytes.length] ?? 0) % alphabet.length];
  return result;
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const MIXED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Options of {@link CredentialRegistry}. */
export interface CredentialRegistryOptions {
  readonly accountId: string;
  /**
   * Access key ids of the local operator (CLI, tests, the runtime's own clients): allowed everything.
   * @default ['local'], the runtime's LOCAL_CREDENTIALS
   */
  readonly administratorAccessKeyIds?: readonly string[];
}

/** Maps access key ids to callers; the runtime fills it when it starts functions. */
export class CredentialRegistry {
  private readonly callers = new Map<string, KnownCaller>();
  readonly accountId: string;

  constructor(options: CredentialRegistryOptions) {
    this.accountId = options.accountId;
    for (const id of options.administratorAccessKeyIds ?? ['local'])
      this.callers.set(id, { kind: 'administrator' });
  }

  /**
   * Issues the credentials of `sessionName` (the function name) acting as `role`.
   * Deterministic: the same role and session always get the same keys.
   */
  issueRoleSession(
    role: { readonly roleArn: string; readonly roleName: string },
    sessionName: string,
  ): LocalCredentials {
    const seed = `${role.roleArn}|${sessionName}`;
    const accessKeyId = `ASIA${digest(seed, 16, UPPER)}`;
    this.register(accessKeyId, {
      kind: 'role-session',
      arn: `arn:aws:sts::${this.accountId}:assumed-role/${role.roleName}/${sessionName}`,
      roleArn: role.roleArn,
      roleName: role.roleName,
      sessionName,
      accountId: this.accountId,
    });
    return {
      accessKeyId,
      secretAccessKey: digest(`secret|${seed}`, 40, MIXED),
      sessionToken: `local/${digest(`token|${seed}`, 64, MIXED)}`,
    };
  }

  /** Registers an access key id; a second registration of the same id with another caller throws. */
  register(accessKeyId: string, caller: KnownCaller): void {
    const existing = this.callers.get(accessKeyId);
    if (existing && JSON.stringify(existing) !== JSON.stringify(caller))
      throw new Error(`access key id ${accessKeyId} is already registered for ${JSON.stringify(existing)}`);
    this.callers.set(accessKeyId, caller);
  }

  /** The caller an access key id stands for, or undefined if it was never issued. */
  resolve(accessKeyId: string): KnownCaller | undefined {
    return this.callers.get(accessKeyId);
  }
}
