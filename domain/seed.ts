import { IllegalSeedTransitionError } from './errors';

/** NIST SP 800-57 key states. Only `active` seeds issue new tokens. */
export const SeedState = {
  PreActive: 'pre_active',
  Active: 'active',
  Suspended: 'suspended',
  Deactivated: 'deactivated',
  Compromised: 'compromised',
  Destroyed: 'destroyed',
} as const;
export type SeedState = (typeof SeedState)[keyof typeof SeedState];

/** Before the HSM has made the key, the API only holds a reservation. */
export const SEED_REQUESTED = 'requested' as const;
export type SeedStatus = SeedState | typeof SEED_REQUESTED;

const TRANSITIONS: Record<SeedState, readonly SeedState[]> = {
  pre_active: ['active', 'compromised', 'destroyed'],
  active: ['deactivated', 'suspended', 'compromised'],
  suspended: ['active', 'deactivated', 'compromised'],
  deactivated: ['destroyed', 'compromised'],
  compromised: ['destroyed'],
  destroyed: [],
};

export function canTransition(from: SeedState, to: SeedState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: SeedState, to: SeedState): void {
  if (!canTransition(from, to)) throw new IllegalSeedTransitionError(from, to);
}

export interface SeedRef {
  seedId: string;
  keyring: string;
  version: number;
}

export interface Seed extends SeedRef {
  state: SeedState;
  hsmLabel: string;
  kcv: string;
  stateReason: string | null;
  createdAt: Date;
  activatedAt: Date | null;
  deactivatedAt: Date | null;
  destroyedAt: Date | null;
}

/** Readable in the Temporal Web UI and unique per keyring version. */
export function seedWorkflowId(keyring: string, version: number): string {
  return `seed-${keyring}-v${version}`;
}

/**
 * The HSM object label. It embeds the seed id so a retried generation finds the
 * key it already made instead of making a second one.
 */
export function seedHsmLabel(ref: SeedRef): string {
  return `seed:${ref.keyring}:v${ref.version}:${ref.seedId}`;
}

/** KCV: the first 3 bytes of AES-ECB(key, 0^128), as the HSM reports it (CKA_CHECK_VALUE). */
export const KCV_PATTERN = /^[0-9a-f]{6}$/;
