import { randomBytes } from 'node:crypto';
import * as graphene from 'graphene-pk11';
import { DERIVATION_IV, KEY_PURPOSES, KeyPurpose, WORKING_KEY_BYTES, derivationData, workingKeyKind } from '../../domain/keyHierarchy';
import { SealedValueRejectedError, SeedNotInHsmError, WorkingKeysZeroizedError, type KeyDerivationPort, type TokenCrypto, type WorkingKeys } from '../../domain/keyPorts';
import { Pkcs11Session, pkcs11Code, type Pkcs11Config } from './pkcs11Session';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** What the HSM itself reports about a working key (CKA_* attributes), for audits and tests. */
export interface WorkingKeyAttributes {
  purpose: KeyPurpose;
  token: boolean;
  sensitive: boolean;
  extractable: boolean;
  neverExtractable: boolean;
  /** False when the HSM refuses to return CKA_VALUE (CKR_ATTRIBUTE_SENSITIVE). */
  valueReadable: boolean;
}

type KeyHandles = Record<KeyPurpose, graphene.SecretKey>;

/**
 * Derives working keys from a seed with CKM_AES_CBC_ENCRYPT_DATA (see
 * domain/keyHierarchy.ts). CKM_AES_ECB_ENCRYPT_DATA would be as good, but
 * pkcs11js cannot marshal its CK_KEY_DERIVATION_STRING_DATA parameter
 * (SoftHSM answers CKR_MECHANISM_PARAM_INVALID).
 *
 * It uses its own read-only session on the shared PKCS#11 library
 * (pkcs11Session.ts): it only ever creates session objects, which vanish with
 * the session.
 */
export class Pkcs11KeyDerivation implements KeyDerivationPort {
  private readonly session: Pkcs11Session;

  constructor(config: Pkcs11Config) {
    this.session = new Pkcs11Session(config, false);
  }

  async deriveInHsm(seedLabel: string): Promise<Pkcs11TokenCrypto> {
    return new Pkcs11TokenCrypto(this, seedLabel);
  }

  async exportWorkingKeys(seedLabel: string): Promise<WorkingKeys> {
    return this.withSession((session) => {
      const handles = deriveAll(session, this.findSeed(session, seedLabel), seedLabel, false);
      try {
        const read = (purpose: KeyPurpose): Buffer => {
          const value = handles[purpose].getAttribute({ value: null }).value;
          if (!value || value.length !== WORKING_KEY_BYTES) throw new Error(`the HSM returned no ${WORKING_KEY_BYTES}-byte value for ${purpose}`);
          const copy = Buffer.alloc(WORKING_KEY_BYTES); // our own allocation, never a pooled slice
          value.copy(copy);
          value.fill(0);
          return copy;
        };
        return { tokenHmac: read(KeyPurpose.TokenHmac), fingerprintHmac: read(KeyPurpose.FingerprintHmac), checkHmac: read(KeyPurpose.CheckHmac), vaultData: read(KeyPurpose.VaultData) };
      } finally {
        for (const key of Object.values(handles)) destroyQuietly(key);
      }
    });
  }

  async close(): Promise<void> {
    this.session.close();
  }

  /** @internal Derives a seed's in-HSM working keys in the current session. */
  deriveSessionKeys(seedLabel: string): { handles: KeyHandles; epoch: number } {
    return this.withSession((session) => ({ handles: deriveAll(session, this.findSeed(session, seedLabel), seedLabel, true), epoch: this.session.epoch }));
  }

  /** @internal */
  currentEpoch(): number {
    return this.session.epoch;
  }

  /** @internal Runs fn on the session; after a session loss, logs in again and retries once. */
  withSession<T>(fn: (session: graphene.Session) => T): T {
    return this.session.run(fn);
  }

  private findSeed(session: graphene.Session, seedLabel: string): graphene.SecretKey {
    const found = session.find({ class: graphene.ObjectClass.SECRET_KEY, label: seedLabel });
    if (found.length === 0) throw new SeedNotInHsmError();
    if (found.length > 1) throw new Error(`HSM holds ${found.length} keys labelled ${seedLabel}; expected one`);
    return found.items(0).toType<graphene.SecretKey>();
  }
}

/**
 * Strategy (a) of docs/KEYS.md: working keys are sensitive, non-extractable
 * session objects; every operation is one PKCS#11 operation (init + single-part call).
 * If the session is lost, the keys are derived again in the new session.
 */
export class Pkcs11TokenCrypto implements TokenCrypto {
  readonly location = 'hsm' as const;
  private keys: { handles: KeyHandles; epoch: number } | null = null;
  private zeroized = false;

  constructor(
    private readonly hsm: Pkcs11KeyDerivation,
    private readonly seedLabel: string,
  ) {
    this.keys = hsm.deriveSessionKeys(seedLabel);
  }

  async hmacToken(input: Uint8Array): Promise<Uint8Array> {
    return this.run(KeyPurpose.TokenHmac, (s, key) => s.createSign('SHA256_HMAC', key).once(asBuffer(input)));
  }

  async hmacFingerprint(input: Uint8Array): Promise<Uint8Array> {
    return this.run(KeyPurpose.FingerprintHmac, (s, key) => s.createSign('SHA256_HMAC', key).once(asBuffer(input)));
  }

  async hmacCheck(input: Uint8Array): Promise<Uint8Array> {
    return this.run(KeyPurpose.CheckHmac, (s, key) => s.createSign('SHA256_HMAC', key).once(asBuffer(input)));
  }

  async encrypt(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const iv = randomBytes(IV_BYTES);
    const body = this.run(KeyPurpose.VaultData, (s, key) =>
      s.createCipher({ name: 'AES_GCM', params: new graphene.AesGcmParams(iv, asBuffer(aad), TAG_BYTES * 8) }, key).once(asBuffer(plaintext), Buffer.alloc(plaintext.length + TAG_BYTES)),
    );
    return Buffer.concat([iv, body]);
  }

  async decrypt(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new SealedValueRejectedError();
    const iv = asBuffer(sealed.subarray(0, IV_BYTES));
    try {
      return this.run(KeyPurpose.VaultData, (s, key) =>
        s.createDecipher({ name: 'AES_GCM', params: new graphene.AesGcmParams(iv, asBuffer(aad), TAG_BYTES * 8) }, key).once(asBuffer(sealed.subarray(IV_BYTES)), Buffer.alloc(sealed.length - IV_BYTES)),
      );
    } catch (err) {
      // PKCS#11 says CKR_ENCRYPTED_DATA_INVALID for a bad tag; SoftHSM 2.6 answers CKR_GENERAL_ERROR.
      if (['CKR_ENCRYPTED_DATA_INVALID', 'CKR_ENCRYPTED_DATA_LEN_RANGE', 'CKR_GENERAL_ERROR'].includes(pkcs11Code(err))) throw new SealedValueRejectedError();
      throw err;
    }
  }

  /** Destroys the working keys in the HSM. */
  zeroize(): void {
    this.zeroized = true;
    const keys = this.keys;
    this.keys = null;
    if (!keys || keys.epoch !== this.hsm.currentEpoch()) return;
    for (const key of Object.values(keys.handles)) destroyQuietly(key);
  }

  /** The HSM's own view of each working key. */
  describeKeys(): WorkingKeyAttributes[] {
    return KEY_PURPOSES.map((purpose) =>
      this.run(purpose, (_s, key) => {
        const attrs = key.getAttribute({ token: null, sensitive: null, extractable: null, neverExtractable: null });
        let valueReadable = true;
        try {
          key.getAttribute({ value: null });
        } catch (err) {
          if (pkcs11Code(err) !== 'CKR_ATTRIBUTE_SENSITIVE') throw err;
          valueReadable = false;
        }
        return { purpose, token: attrs.token === true, sensitive: attrs.sensitive === true, extractable: attrs.extractable === true, neverExtractable: attrs.neverExtractable === true, valueReadable };
      }),
    );
  }

  private run<T>(purpose: KeyPurpose, op: (session: graphene.Session, key: graphene.SecretKey) => T): T {
    if (this.zeroized) throw new WorkingKeysZeroizedError();
    return this.hsm.withSession((session) => {
      if (!this.keys || this.keys.epoch !== this.hsm.currentEpoch()) this.keys = this.hsm.deriveSessionKeys(this.seedLabel);
      return op(session, this.keys.handles[purpose]);
    });
  }
}

function deriveAll(session: graphene.Session, seed: graphene.SecretKey, seedLabel: string, inHsm: boolean): KeyHandles {
  const made: Partial<KeyHandles> = {};
  try {
    for (const purpose of KEY_PURPOSES) made[purpose] = deriveOne(session, seed, seedLabel, purpose, inHsm);
    return made as KeyHandles;
  } catch (err) {
    for (const key of Object.values(made)) destroyQuietly(key);
    throw err;
  }
}

function deriveOne(session: graphene.Session, seed: graphene.SecretKey, seedLabel: string, purpose: KeyPurpose, inHsm: boolean): graphene.SecretKey {
  const aes = workingKeyKind(purpose) === 'aes';
  const mechanism = { name: 'AES_CBC_ENCRYPT_DATA', params: new graphene.AesCbcEncryptDataParams(Buffer.from(DERIVATION_IV), Buffer.from(derivationData(purpose))) };
  return session.deriveKey(mechanism, seed, {
    class: graphene.ObjectClass.SECRET_KEY,
    keyType: aes ? graphene.KeyType.AES : graphene.KeyType.GENERIC_SECRET,
    label: `${seedLabel}#${purpose}`,
    valueLen: WORKING_KEY_BYTES,
    token: false,
    private: true,
    derive: false,
    wrap: false,
    unwrap: false,
    // In the HSM: usable, never readable. For export: readable, not usable there.
    sensitive: inHsm,
    extractable: !inHsm,
    sign: inHsm && !aes,
    verify: inHsm && !aes,
    encrypt: inHsm && aes,
    decrypt: inHsm && aes,
    // SoftHSM applies the template in order and refuses every attribute after CKA_MODIFIABLE=false.
    modifiable: false,
  });
}

/** Destroying can only fail when the session, and with it the object, is already gone. */
function destroyQuietly(key: graphene.SecretKey): void {
  try {
    key.destroy();
  } catch {
    // gone with its session
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}


