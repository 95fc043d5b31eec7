import * as graphene from 'graphene-pk11';
import type { HsmKeyInfo, HsmPort } from '../../domain/ports';

export interface Pkcs11Config {
  /** Path of the vendor's PKCS#11 library (SoftHSM locally, Luna/CloudHSM/YubiHSM in production). */
  modulePath: string;
  tokenLabel: string;
  pin: string;
}

/** Misconfiguration (wrong library, token or PIN): retrying will not help. */
export class HsmConfigurationError extends Error {
  override readonly name = 'HsmConfigurationError';
}

const CKF_OS_LOCKING_OK = 2;
// PKCS#11 return values after which a fresh session may succeed.
const SESSION_ERRORS = ['CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED', 'CKR_USER_NOT_LOGGED_IN', 'CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT'];

/**
 * Seeds as AES-256 secret keys inside a PKCS#11 token. They are created
 * sensitive and non-extractable, usable only for key derivation; the KCV comes
 * from the token itself (CKA_CHECK_VALUE), so key bytes never enter this process.
 *
 * graphene-pk11 calls are synchronous, so within one process the event loop
 * already serialises them over the single logged-in session; separate
 * processes get their own session and login (SoftHSM locking via CKF_OS_LOCKING_OK).
 */
export class Pkcs11Hsm implements HsmPort {
  private readonly module: graphene.Module;
  private session: graphene.Session | null = null;

  constructor(private readonly config: Pkcs11Config) {
    this.module = acquireModule(config.modulePath);
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
    const last = releaseModule(this.config.modulePath);
    // Login state belongs to the whole process: only the last user logs out.
    if (last) {
      try {
        this.session?.logout();
      } catch {
        // already logged out or session gone
      }
    }
    try {
      this.session?.close();
    } catch {
      // session already closed
    }
    this.session = null;
    if (last) this.module.finalize();
  }

  private findKey(session: graphene.Session, label: string): graphene.SecretKey | null {
    const found = session.find({ class: graphene.ObjectClass.SECRET_KEY, label });
    if (found.length > 1) throw new Error(`HSM holds ${found.length} keys labelled ${label}; expected at most one`);
    return found.length === 1 ? found.items(0).toType<graphene.SecretKey>() : null;
  }

  private withSession<T>(fn: (session: graphene.Session) => T): T {
    try {
      return fn(this.openSession());
    } catch (err) {
      if (!isSessionError(err)) throw err;
      // The token dropped our session (e.g. HSM restart): log in again once.
      this.session = null;
      return fn(this.openSession());
    }
  }

  private openSession(): graphene.Session {
    if (this.session) return this.session;
    const slots = this.module.getSlots(true);
    let slot: graphene.Slot | undefined;
    for (let i = 0; i < slots.length; i++) {
      const candidate = slots.items(i);
      if (candidate.getToken().label.trim() === this.config.tokenLabel) slot = candidate;
    }
    if (!slot) throw new HsmConfigurationError(`No PKCS#11 token labelled "${this.config.tokenLabel}". Run npm run stack:up or check HSM_TOKEN_LABEL.`);
    const session = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
    try {
      session.login(this.config.pin, graphene.UserType.USER);
    } catch (err) {
      // Login state is per process: a session opened after a re-login is already logged in.
      if (pkcs11Code(err) !== 'CKR_USER_ALREADY_LOGGED_IN') {
        session.close();
        throw new HsmConfigurationError(`Login to HSM token "${this.config.tokenLabel}" failed (${pkcs11Code(err)}). Check HSM_PIN.`);
      }
    }
    this.session = session;
    return session;
  }
}

/**
 * A PKCS#11 library is initialised once per process (C_Initialize/C_Finalize
 * are global), so instances in one process share it and the last one finalises.
 */
const modules = new Map<string, { module: graphene.Module; users: number }>();

function acquireModule(modulePath: string): graphene.Module {
  const shared = modules.get(modulePath);
  if (shared) {
    shared.users++;
    return shared.module;
  }
  try {
    const module = graphene.Module.load(modulePath, 'hsm');
    module.initialize({ flags: CKF_OS_LOCKING_OK });
    modules.set(modulePath, { module, users: 1 });
    return module;
  } catch (err) {
    throw new HsmConfigurationError(`Cannot load the PKCS#11 library at ${modulePath}: ${(err as Error).message}. Check PKCS11_MODULE.`);
  }
}

/** Returns true when the caller was the module's last user. */
function releaseModule(modulePath: string): boolean {
  const shared = modules.get(modulePath);
  if (!shared) return false;
  shared.users--;
  if (shared.users > 0) return false;
  modules.delete(modulePath);
  return true;
}

function describe(key: graphene.SecretKey, label: string): HsmKeyInfo {
  const attrs = key.getAttribute({ checkValue: null, sensitive: null, extractable: null });
  const kcv = attrs.checkValue ? Buffer.from(attrs.checkValue).subarray(0, 3).toString('hex') : '';
  if (kcv.length !== 6) throw new HsmConfigurationError(`The HSM did not report a key check value for ${label}; this PKCS#11 module lacks CKA_CHECK_VALUE support.`);
  return { label, kcv, sensitive: attrs.sensitive === true, extractable: attrs.extractable === true };
}

function pkcs11Code(err: unknown): string {
  const match = /CKR_[A-Z_]+/.exec(String((err as Error)?.message ?? err));
  return match ? match[0] : 'unknown error';
}

function isSessionError(err: unknown): boolean {
  return SESSION_ERRORS.includes(pkcs11Code(err));
}
