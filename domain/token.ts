import type { RandomSource, TokenCrypto } from './keyPorts';
import { checkInput, fingerprintInput, tokenInput, vaultAad } from './tokenInputs';

/**
 * Token format (docs/KEYS.md):
 *
 *   tk_v<version>_<body>_<check>        e.g. tk_v3_q8Jc0tX1…(32 chars)_Zk3Pa9_w
 *
 * - version: the seed version that issued it, decimal without leading zeros (1…999999999);
 * - body: base64url (no padding) of 24 bytes, always 32 characters —
 *   deterministic mode: the first 24 bytes of HMAC-SHA-256(token key, tokenInput(keyring, field, value));
 *   random mode: 24 random bytes;
 * - check: base64url of the first 6 bytes of HMAC-SHA-256(check key, checkInput(keyring, version, body)),
 *   always 8 characters.
 *
 * Body and check have fixed lengths, so the `_` that base64url may contain never
 * makes parsing ambiguous. The check key belongs to one keyring's seed version:
 * a token shown to another keyring or version, or with any character changed,
 * fails the check (a random pass has probability 2⁻⁴⁸) without a database lookup.
 * Every token is ASCII-only and URL-safe (RFC 3986 unreserved characters).
 */
export const TOKEN_BODY_BYTES = 24;
export const TOKEN_CHECK_BYTES = 6;
export const MAX_TOKEN_VERSION = 999_999_999;
const TOKEN_PATTERN = /^tk_v([1-9][0-9]{0,8})_([A-Za-z0-9_-]{32})_([A-Za-z0-9_-]{8})$/;
/** Longest possible token; callers may reject longer input before parsing. */
export const MAX_TOKEN_LENGTH = 'tk_v_'.length + 9 + 32 + 1 + 8;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export const TokenMode = {
  Deterministic: 'deterministic',
  Random: 'random',
} as const;
export type TokenMode = (typeof TokenMode)[keyof typeof TokenMode];

export interface ParsedToken {
  version: number;
  /** The 24 body bytes. */
  body: Uint8Array;
  /** The 6 check bytes. */
  check: Uint8Array;
}

export type ParseTokenResult = { ok: true; token: ParsedToken } | { ok: false; code: 'invalid_token_format'; message: string };

/** Which keyring and seed version a token is being issued or verified under. */
export interface TokenScope {
  keyring: string;
  version: number;
}

export function formatToken(token: ParsedToken): string {
  if (!Number.isInteger(token.version) || token.version < 1 || token.version > MAX_TOKEN_VERSION) throw new RangeError(`token version must be an integer in 1..${MAX_TOKEN_VERSION}`);
  if (token.body.length !== TOKEN_BODY_BYTES) throw new RangeError(`token body must be ${TOKEN_BODY_BYTES} bytes`);
  if (token.check.length !== TOKEN_CHECK_BYTES) throw new RangeError(`token check must be ${TOKEN_CHECK_BYTES} bytes`);
  return `tk_v${token.version}_${toBase64Url(token.body)}_${toBase64Url(token.check)}`;
}

/** Strict: exactly the format above, nothing trimmed or case-folded. The message never repeats the input. */
export function parseToken(token: unknown): ParseTokenResult {
  const match = typeof token === 'string' && token.length <= MAX_TOKEN_LENGTH ? TOKEN_PATTERN.exec(token) : null;
  if (!match) {
    return { ok: false, code: 'invalid_token_format', message: 'A token looks like tk_v<version>_<32 base64url characters>_<8 base64url characters>.' };
  }
  return { ok: true, token: { version: Number(match[1]), body: fromBase64Url(match[2]!), check: fromBase64Url(match[3]!) } };
}

/** Same keyring, field and normalised value under the same seed version → the same token. */
export async function issueDeterministicToken(crypto: TokenCrypto, scope: TokenScope, field: string, normalizedValue: string): Promise<string> {
  const mac = await crypto.hmacToken(tokenInput(scope.keyring, field, normalizedValue));
  return withCheck(crypto, scope, mac.subarray(0, TOKEN_BODY_BYTES));
}

/** A surrogate not derived from the value (HIPAA re-identification code); the vault links it to the value. */
export async function issueRandomToken(crypto: TokenCrypto, random: RandomSource, scope: TokenScope): Promise<string> {
  const body = random.bytes(TOKEN_BODY_BYTES);
  if (body.length !== TOKEN_BODY_BYTES) throw new Error('random source returned the wrong number of bytes');
  return withCheck(crypto, scope, body);
}

/** True when the token's check MAC was made by this keyring's key for its version. `crypto` must be that version's. */
export async function hasValidCheck(crypto: TokenCrypto, keyring: string, token: ParsedToken): Promise<boolean> {
  const mac = await crypto.hmacCheck(checkInput(keyring, token.version, token.body));
  return constantTimeEqual(mac.subarray(0, TOKEN_CHECK_BYTES), token.check);
}

/** The vault's lookup key for a value: 32 bytes, only computable with the seed. */
export function fingerprint(crypto: TokenCrypto, keyring: string, field: string, normalizedValue: string): Promise<Uint8Array> {
  return crypto.hmacFingerprint(fingerprintInput(keyring, field, normalizedValue));
}

/** Encrypts a value for the vault, bound to its keyring, version and token. */
export function sealValue(crypto: TokenCrypto, scope: TokenScope, token: string, value: string): Promise<Uint8Array> {
  return crypto.encrypt(utf8.encode(value), vaultAad(scope.keyring, scope.version, token));
}

/** Decrypts a vault entry; rejects (SealedValueRejectedError) if it was sealed for another keyring, version or token. */
export async function openValue(crypto: TokenCrypto, scope: TokenScope, token: string, sealed: Uint8Array): Promise<string> {
  const plaintext = await crypto.decrypt(sealed, vaultAad(scope.keyring, scope.version, token));
  return strictUtf8.decode(plaintext);
}

async function withCheck(crypto: TokenCrypto, scope: TokenScope, body: Uint8Array): Promise<string> {
  const mac = await crypto.hmacCheck(checkInput(scope.keyring, scope.version, body));
  return formatToken({ version: scope.version, body, check: mac.subarray(0, TOKEN_CHECK_BYTES) });
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function fromBase64Url(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64url'));
}
