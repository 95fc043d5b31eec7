/**
 * Key hierarchy (docs/KEYS.md): each seed version yields four working keys,
 * one per purpose, derived inside the HSM with CKM_AES_CBC_ENCRYPT_DATA:
 *
 *   workingKey = AES-256-CBC(seed, IV = 0¹²⁸, derivationData(purpose))   (32 bytes, no padding)
 *
 * derivationData is 32 bytes: block 1 is the purpose label padded with 0x00 to
 * 16 bytes, block 2 the hierarchy version `saludtech-kdf-v1`. Block 1 differs
 * for every purpose, so the first cipher block (and, through chaining, the
 * second) of each key is an AES output on a distinct input: the keys are
 * independent, and knowing one says nothing about the seed or the others.
 *
 * The labels are part of the stored data's meaning: changing one changes every
 * token. A new scheme gets a new hierarchy version, never an edited label.
 */
export const KeyPurpose = {
  TokenHmac: 'token-hmac',
  FingerprintHmac: 'fingerprint-hmac',
  CheckHmac: 'check-hmac',
  VaultData: 'vault-aes-gcm',
} as const;
export type KeyPurpose = (typeof KeyPurpose)[keyof typeof KeyPurpose];

export const KEY_PURPOSES: readonly KeyPurpose[] = Object.values(KeyPurpose);

/** HMAC keys are PKCS#11 generic secrets (sign/verify); the vault key is an AES key (encrypt/decrypt). */
export type WorkingKeyKind = 'hmac' | 'aes';

export const KEY_HIERARCHY_VERSION = 'saludtech-kdf-v1';
export const WORKING_KEY_BYTES = 32;
/** The CBC IV of the derivation: fixed, because the purpose label already separates the keys. */
export const DERIVATION_IV = new Uint8Array(16);

const BLOCK = 16;

export function workingKeyKind(purpose: KeyPurpose): WorkingKeyKind {
  return purpose === KeyPurpose.VaultData ? 'aes' : 'hmac';
}

/** The 32-byte CKM_AES_CBC_ENCRYPT_DATA input for one purpose. */
export function derivationData(purpose: KeyPurpose): Uint8Array {
  const label = new TextEncoder().encode(purpose);
  const version = new TextEncoder().encode(KEY_HIERARCHY_VERSION);
  if (label.length > BLOCK || version.length !== BLOCK) throw new Error(`derivation labels must fit one AES block: ${purpose}`);
  const data = new Uint8Array(2 * BLOCK);
  data.set(label, 0);
  data.set(version, BLOCK);
  return data;
}
