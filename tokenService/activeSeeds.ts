import type { SeedRef } from '../domain/seed';

/**
 * The token service's view of which seed version each keyring issues tokens
 * under. Updated from SeedActivated events without a restart; never moves back
 * to an older version (events can arrive out of order across redeliveries).
 */
export class ActiveSeeds {
  private readonly byKeyring = new Map<string, SeedRef>();

  constructor(initial: SeedRef[] = []) {
    for (const ref of initial) this.activate(ref);
  }

  /** Returns true if this changed the keyring's active version. */
  activate(ref: SeedRef): boolean {
    const current = this.byKeyring.get(ref.keyring);
    if (current && current.version >= ref.version) return false;
    this.byKeyring.set(ref.keyring, ref);
    return true;
  }

  get(keyring: string): SeedRef | undefined {
    return this.byKeyring.get(keyring);
  }
}
