import * as graphene from 'graphene-pk11';
import type { HsmKeyInfo, HsmPort } from '../../domain/ports';
import { HsmConfigurationError, Pkcs11Session, type Pkcs11Config } from './pkcs11Session';

export { HsmConfigurationError, type Pkcs11Config } from './pkcs11Session';

/**
 * Seeds as AES-256 secret keys inside a PKCS#11 token. They are created
 * sensitive and non-extractable, usable only for key derivation; the KCV comes
 * from the token itself (CKA_CHECK_VALUE), so key bytes never enter this process.
 */
export class Pkcs11Hsm implements HsmPort {
  private readonly session: Pkcs11Session;

  constructor(config: Pkcs11Config) {
    this.session = new Pkcs11Session(config, true);
  }

  async generateSeed(label: string): Promise<HsmKeyInfo> {
    return this.withSession((session) => {
      const existing = this.findKey(session, label);
      if (existing) return describe(existing, label);
      const key = session.generateKey(graphene.KeyGenMechanism.AES, {
        keyType: graphene.KeyType.AES,
        class: graphene.ObjectClass.SECRET_KEY,
        label,
        valueLen: 32,
        token: true,
        private: true,
        sensitive: true,
        extractable: false,
        modifiable: false,
        derive: true,
        encrypt: false,
        decrypt: false,
        sign: false,
        verify: false,
        wrap: false,
        unwrap: false,
      });
      return describe(key, label);
    });
  }

  async findSeed(label: string): Promise<HsmKeyInfo | null> {
    return this.withSession((session) => {
      const key = this.findKey(session, label);
      return key ? describe(key, label) : null;
    });
  }

  async destroySeed(label: string): Promise<boolean> {
    return this.withSession((session) => {
      const key = this.findKey(session, label);
      if (!key) return false;
      key.destroy();
      return true;
    });
  }

  async close(): Promise<void> {
    this.session.close();
  }

  private findKey(session: graphene.Session, label: string): graphene.SecretKey | null {
    const found = session.find({ class: graphene.ObjectClass.SECRET_KEY, label });
    if (found.length > 1) throw new Error(`HSM holds ${found.length} keys labelled ${label}; expected at most one`);
    return found.length === 1 ? found.items(0).toType<graphene.SecretKey>() : null;
  }

  private withSession<T>(fn: (session: graphene.Session) => T): T {
    return this.session.run(fn);
  }
}

function describe(key: graphene.SecretKey, label: string): HsmKeyInfo {
  const attrs = key.getAttribute({ checkValue: null, sensitive: null, extractable: null });
  const kcv = attrs.checkValue ? Buffer.from(attrs.checkValue).subarray(0, 3).toString('hex') : '';
  if (kcv.length !== 6) throw new HsmConfigurationError(`The HSM did not report a key check value for ${label}; this PKCS#11 module lacks CKA_CHECK_VALUE support.`);
  return { label, kcv, sensitive: attrs.sensitive === true, extractable: attrs.extractable === true };
}


