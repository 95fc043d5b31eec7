import { DomainError } from './errors';

/**
 * The token service's working keys for one seed version, behind one interface
 * so the domain never sees key bytes or node:crypto. Two adapters implement
 * it (docs/KEYS.md): keys held inside the HSM (one PKCS#11 call per operation)
 * and keys derived in the HSM then held in process memory.
 *
 * Inputs are the exact byte strings built by domain/tokenInputs.ts.
 */
export interface TokenCrypto {
  /** Where the working keys live: inside the HSM or in this process's memory. */
  readonly location: 'hsm' | 'memory';
  /** HMAC-SHA-256 under the token key: 32 bytes. Deterministic tokens use its first 24. */
  hmacToken(input: Uint8Array): Promise<Uint8Array>;
  /** HMAC-SHA-256 under the fingerprint key: 32 bytes, the vault's lookup key. */
  hmacFingerprint(input: Uint8Array): Promise<Uint8Array>;
  /** HMAC-SHA-256 under the check key: 32 bytes. Tokens carry its first 6. */
  hmacCheck(input: Uint8Array): Promise<Uint8Array>;
  /** AES-256-GCM under the vault data key with a fresh random 96-bit IV. Returns `iv ‖ ciphertext ‖ tag`. */
  encrypt(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Inverse of encrypt; rejects with SealedValueRejectedError if the tag, AAD or key does not match. */
  decrypt(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /**
   * Forgets the working keys (rotation, shutdown): memory buffers are filled
   * with zeros; in-HSM session objects are destroyed. Later calls throw
   * WorkingKeysZeroizedError. Idempotent.
   */
  zeroize(): void;
}

/** Secret bytes of the working keys, 32 each. Whoever holds them must zeroize them. */
export interface WorkingKeys {
  tokenHmac: Uint8Array;
  fingerprintHmac: Uint8Array;
  checkHmac: Uint8Array;
  vaultData: Uint8Array;
}

/**
 * Derives working keys from a seed inside the HSM (domain/keyHierarchy.ts).
 * Separate from HsmPort on purpose: HsmPort never returns secret bytes, this
 * port can (`exportWorkingKeys`), so only the token service is given it.
 */
export interface KeyDerivationPort {
  /** Working keys as non-extractable session objects in the HSM. */
  deriveInHsm(seedLabel: string): Promise<TokenCrypto>;
  /** Working keys derived in the HSM as extractable objects, read once and destroyed there. The seed stays non-extractable. */
  exportWorkingKeys(seedLabel: string): Promise<WorkingKeys>;
  close(): Promise<void>;
}

/** Cryptographically secure random bytes (random-mode token bodies). */
export interface RandomSource {
  bytes(length: number): Uint8Array;
}

/** A sealed vault value failed authentication: tampered, wrong AAD, or another key. */
export class SealedValueRejectedError extends DomainError {
  readonly status = 422;
  constructor() {
    super('sealed_value_rejected', 'The stored value failed authentication (wrong key, wrong token binding or tampered data).');
  }
}

/** The working keys were zeroised (the seed version was rotated out or the service is stopping). */
export class WorkingKeysZeroizedError extends DomainError {
  readonly status = 503;
  constructor() {
    super('working_keys_zeroized', 'These working keys were zeroised; derive the keys of the active seed version again.');
  }
}

/** No seed with that HSM label: it was never generated here or was destroyed (crypto-shredded). */
export class SeedNotInHsmError extends DomainError {
  readonly status = 409;
  constructor() {
    super('seed_not_in_hsm', 'The HSM holds no seed with that label; it may have been destroyed.');
  }
}
