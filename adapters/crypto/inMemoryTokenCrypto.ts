import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { SealedValueRejectedError, WorkingKeysZeroizedError, type TokenCrypto, type WorkingKeys } from '../../domain/keyPorts';
import { WORKING_KEY_BYTES } from '../../domain/keyHierarchy';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Strategy (b) of docs/KEYS.md: working keys derived in the HSM, held here and
 * used with node:crypto. It takes ownership of the key buffers (no copies, so
 * zeroize() reaches the only ones) and passes them to OpenSSL per call rather
 * than caching KeyObjects, whose native copy JavaScript could not wipe.
 */
export class InMemoryTokenCrypto implements TokenCrypto {
  readonly location = 'memory' as const;
  private keys: WorkingKeys | null;

  constructor(keys: WorkingKeys) {
    for (const [name, key] of Object.entries(keys)) {
      if ((key as Uint8Array).length !== WORKING_KEY_BYTES) throw new RangeError(`working key ${name} must be ${WORKING_KEY_BYTES} bytes`);
    }
    this.keys = keys;
  }

  async hmacToken(input: Uint8Array): Promise<Uint8Array> {
    return hmac(this.live().tokenHmac, input);
  }

  async hmacFingerprint(input: Uint8Array): Promise<Uint8Array> {
    return hmac(this.live().fingerprintHmac, input);
  }

  async hmacCheck(input: Uint8Array): Promise<Uint8Array> {
    return hmac(this.live().checkHmac, input);
  }

  async encrypt(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.live().vaultData, iv);
    cipher.setAAD(aad);
    const body = cipher.update(plaintext);
    const last = cipher.final();
    return Buffer.concat([iv, body, last, cipher.getAuthTag()]);
  }

  async decrypt(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const key = this.live().vaultData;
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new SealedValueRejectedError();
    const iv = sealed.subarray(0, IV_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SealedValueRejectedError();
    }
  }

  zeroize(): void {
    if (!this.keys) return;
    for (const key of Object.values(this.keys) as Uint8Array[]) key.fill(0);
    this.keys = null;
  }

  private live(): WorkingKeys {
    if (!this.keys) throw new WorkingKeysZeroizedError();
    return this.keys;
  }
}

function hmac(key: Uint8Array, input: Uint8Array): Uint8Array {
  return createHmac('sha256', key).update(input).digest();
}
