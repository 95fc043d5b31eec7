import { createHash } from 'node:crypto';
import { ALL_KEYRINGS, SCOPES, type Principal, type Scope } from './auth';
import { InvalidInputError } from './errors';
import { KEYRING_NAME_PATTERN } from './keyring';

/**
 * API keys: what a key looks like, how it is stored, and which requests may
 * create one. Pure: randomness comes in as bytes, nothing here does I/O.
 *
 * Format: `stk_` + base64url(32 random bytes), e.g. `stk_q3J…` (47 characters).
 * The secret is shown once, at creation. The database keeps
 *  - `keyHash`: hex SHA-256 of the whole secret. A fast, unsalted hash is the right tool here:
 *    the secret carries 256 bits of entropy, so there is nothing to brute-force or look up in a
 *    table, and a slow password hash (bcrypt, scrypt) would only add latency to every request;
 *  - `prefix`: `stk_` + the first 8 characters of the random part, for people to recognise a key
 *    in listings and logs. It reveals 48 of the 256 bits, leaving 208 unknown.
 */
export const API_KEY_SCHEME = 'stk_';
export const API_KEY_RANDOM_BYTES = 32;
const PREFIX_CHARS = 8;

/** The principal of ADMIN_API_KEY (config/env.ts): every scope on every keyring. */
export const BOOTSTRAP_ADMIN: Principal = Object.freeze({
  keyId: 'bootstrap-admin',
  name: 'bootstrap admin (ADMIN_API_KEY)',
  scopes: ['admin'],
  keyrings: [ALL_KEYRINGS],
}) as Principal;

export interface IssuedApiKeySecret {
  /** The secret: returned to the caller once, never stored or logged. */
  key: string;
  prefix: string;
  keyHash: string;
}

export function issueApiKeySecret(random: Uint8Array): IssuedApiKeySecret {
  if (random.length !== API_KEY_RANDOM_BYTES) throw new RangeError(`API keys need ${API_KEY_RANDOM_BYTES} random bytes.`);
  const body = Buffer.from(random).toString('base64url');
  const key = `${API_KEY_SCHEME}${body}`;
  return { key, prefix: `${API_KEY_SCHEME}${body.slice(0, PREFIX_CHARS)}`, keyHash: hashApiKey(key) };
}

/** Hex SHA-256 of a presented or issued secret (see the comment at the top for why SHA-256). */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** RFC 6750 b64token, bounded: anything else in an Authorization header is malformed. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]{1,256}=*$/;

export type CredentialsParse = { kind: 'missing' } | { kind: 'malformed' } | { kind: 'bearer'; secret: string };

/** Reads `Authorization: Bearer <secret>` (scheme case-insensitive, RFC 7235). */
export function parseAuthorization(header: string | string[] | undefined): CredentialsParse {
  if (header === undefined || header === '') return { kind: 'missing' };
  if (Array.isArray(header)) return { kind: 'malformed' };
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match || !BEARER_TOKEN.test(match[1]!)) return { kind: 'malformed' };
  return { kind: 'bearer', secret: match[1]! };
}

export interface NewApiKeyRequest {
  name: string;
  scopes: Scope[];
  keyrings: string[];
}

const REQUEST_FIELDS = ['name', 'scopes', 'keyrings'];
// Names show up in listings and audit rows: printable text only.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** Validates the body of `POST /v1/api-keys`; every problem is a 400 with its own code. */
export function parseNewApiKeyRequest(body: unknown): NewApiKeyRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InvalidInputError('invalid_body', 'The body must be a JSON object with name, scopes and keyrings.');
  const record = body as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !REQUEST_FIELDS.includes(k));
  if (unknown.length > 0) throw new InvalidInputError('unknown_fields', `Unknown field(s): ${unknown.slice(0, 10).join(', ')}. Allowed: ${REQUEST_FIELDS.join(', ')}.`);

  const { name, scopes, keyrings } = record;
  if (typeof name !== 'string' || name.trim().length < 1 || name.trim().length > 100 || CONTROL_CHARS.test(name)) {
    throw new InvalidInputError('invalid_name', 'name must be a string of 1-100 printable characters.');
  }
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s): s is Scope => typeof s === 'string' && (SCOPES as readonly string[]).includes(s))) {
    throw new InvalidInputError('invalid_scopes', `scopes must be a non-empty array of: ${SCOPES.join(', ')}.`);
  }
  if (!Array.isArray(keyrings) || keyrings.length === 0 || keyrings.length > 100 || !keyrings.every((k): k is string => typeof k === 'string' && (k === ALL_KEYRINGS || KEYRING_NAME_PATTERN.test(k)))) {
    throw new InvalidInputError('invalid_keyrings', `keyrings must be a non-empty array (at most 100) of keyring names, or ["${ALL_KEYRINGS}"] for every keyring.`);
  }
  if (keyrings.includes(ALL_KEYRINGS) && keyrings.length > 1) {
    throw new InvalidInputError('invalid_keyrings', `"${ALL_KEYRINGS}" already means every keyring; send it alone.`);
  }
  return { name: name.trim(), scopes: unique(scopes), keyrings: unique(keyrings) };
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
