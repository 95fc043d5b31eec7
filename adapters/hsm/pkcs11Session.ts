import * as graphene from 'graphene-pk11';

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
 * A PKCS#11 library is initialised once per process (C_Initialize/C_Finalize
 * are global), so every session in one process shares it and the last one to
 * close finalises it.
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

/**
 * One logged-in session on the configured token, opened lazily and reopened
 * (with a new login) once if the token drops it. graphene-pk11 calls are
 * synchronous, so within a process the event loop serialises them; separate
 * processes get their own session and login (SoftHSM locking via CKF_OS_LOCKING_OK).
 */
export class Pkcs11Session {
  private readonly module: graphene.Module;
  private session: graphene.Session | null = null;
  private closed = false;
  /** Bumped whenever the session is replaced: session objects of an older epoch are gone. */
  epoch = 0;

  constructor(
    private readonly config: Pkcs11Config,
    private readonly readWrite: boolean,
  ) {
    this.module = acquireModule(config.modulePath);
  }

  /** Runs fn on the session; after a session loss, logs in again and retries once. */
  run<T>(fn: (session: graphene.Session) => T): T {
    try {
      return fn(this.open());
    } catch (err) {
      if (!isSessionError(err)) throw err;
      this.drop();
      return fn(this.open());
    }
  }

  /** Closing a session destroys the session objects made in it. */
  drop(): void {
    try {
      this.session?.close();
    } catch {
      // the token already dropped it
    }
    this.session = null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const last = releaseModule(this.config.modulePath);
    // Login state belongs to the whole process: only the last user logs out.
    if (last) {
      try {
        this.session?.logout();
      } catch {
        // already logged out or session gone
      }
    }
    this.drop();
    if (last) this.module.finalize();
  }

  private open(): graphene.Session {
    if (this.session) return this.session;
    const slots = this.module.getSlots(true);
    let slot: graphene.Slot | undefined;
    for (let i = 0; i < slots.length; i++) if (slots.items(i).getToken().label.trim() === this.config.tokenLabel) slot = slots.items(i);
    if (!slot) throw new HsmConfigurationError(`No PKCS#11 token labelled "${this.config.tokenLabel}". Run npm run stack:up or check HSM_TOKEN_LABEL.`);
    const flags = graphene.SessionFlag.SERIAL_SESSION | (this.readWrite ? graphene.SessionFlag.RW_SESSION : 0);
    const session = slot.open(flags);
    try {
      session.login(this.config.pin, graphene.UserType.USER);
    } catch (err) {
      // Login state is per process: a session opened after another one's login is already logged in.
      if (pkcs11Code(err) !== 'CKR_USER_ALREADY_LOGGED_IN') {
        session.close();
        throw new HsmConfigurationError(`Login to HSM token "${this.config.tokenLabel}" failed (${pkcs11Code(err)}). Check HSM_PIN.`);
      }
    }
    this.session = session;
    this.epoch++;
    return session;
  }
}

export function pkcs11Code(err: unknown): string {
  const match = /CKR_[A-Z_]+/.exec(String((err as Error)?.message ?? err));
  return match ? match[0] : 'unknown error';
}

function isSessionError(err: unknown): boolean {
  return SESSION_ERRORS.includes(pkcs11Code(err));
}
