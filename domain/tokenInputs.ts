/**
 * The exact bytes every MAC and every AES-GCM AAD is computed over. Changing
 * any of them changes every token, fingerprint and vault entry: treat them as
 * a stored format, covered byte for byte by test/unit/token/tokenInputs.test.ts.
 *
 * Layout (all lengths unsigned 32-bit big-endian, strings UTF-8):
 *
 *   input = len(tag) ‖ tag ‖ len(part₁) ‖ part₁ ‖ … ‖ len(partₙ) ‖ partₙ
 *
 * Every part is length-prefixed, so ('ab','c') and ('a','bc') give different
 * bytes, and a distinct tag per use means no input of one kind can equal an
 * input of another, even if two keys were ever the same.
 */
export const InputTag = {
  Token: 'saludtech/token/v1',
  Fingerprint: 'saludtech/fingerprint/v1',
  Check: 'saludtech/check/v1',
  VaultAad: 'saludtech/vault-aad/v1',
} as const;
export type InputTag = (typeof InputTag)[keyof typeof InputTag];

/** Length-prefixed concatenation; the building block of every input below. */
const encoder = new TextEncoder();

export function encodeInput(tag: InputTag, parts: ReadonlyArray<string | Uint8Array>): Uint8Array {
  const all = [tag, ...parts];
  // A UTF-16 code unit never needs more than 3 UTF-8 bytes: size for the worst case, encode once.
  let capacity = 0;
  for (const part of all) capacity += 4 + (typeof part === 'string' ? part.length * 3 : part.length);
  const out = new Uint8Array(capacity);
  let at = 0;
  for (const part of all) {
    let length: number;
    if (typeof part === 'string') {
      length = encoder.encodeInto(part, out.subarray(at + 4)).written;
    } else {
      out.set(part, at + 4);
      length = part.length;
    }
    out[at] = length >>> 24;
    out[at + 1] = (length >>> 16) & 0xff;
    out[at + 2] = (length >>> 8) & 0xff;
    out[at + 3] = length & 0xff;
    at += 4 + length;
  }
  return out.subarray(0, at);
}

/** What the deterministic token HMAC covers: keyring, field and the normalised value. */
export function tokenInput(keyring: string, field: string, normalizedValue: string): Uint8Array {
  return encodeInput(InputTag.Token, [keyring, field, normalizedValue]);
}

/** What the fingerprint HMAC covers (same parts, its own tag and key). */
export function fingerprintInput(keyring: string, field: string, normalizedValue: string): Uint8Array {
  return encodeInput(InputTag.Fingerprint, [keyring, field, normalizedValue]);
}

/** What a token's check MAC covers: keyring, version (decimal) and the 24 body bytes. */
export function checkInput(keyring: string, version: number, body: Uint8Array): Uint8Array {
  return encodeInput(InputTag.Check, [keyring, String(version), body]);
}

/** The AES-GCM AAD of a vault entry: a sealed value only opens for the keyring, version and token it was sealed for. */
export function vaultAad(keyring: string, version: number, token: string): Uint8Array {
  return encodeInput(InputTag.VaultAad, [keyring, String(version), token]);
}
