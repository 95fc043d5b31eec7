import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { SeedActivities } from '../activities/seeds';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors';
import type { SeedRef, SeedStatus } from '../domain/seed';
import { KeyringAttribute, SeedStateAttribute } from './searchAttributes';

export interface SeedLifecycleInput extends SeedRef {
  /** How long to wait for the token service to confirm it can use the seed. */
  acceptanceTimeoutMs: number;
}

export interface SeedLifecycleResult extends SeedRef {
  state: 'active';
  kcv: string;
  deactivatedVersions: number[];
}

export interface SeedAcceptance {
  seedId: string;
  kcv: string;
  acceptedBy: string;
}
export interface SeedRejection {
  seedId: string;
  reason: string;
}

export const seedAcceptedSignal = defineSignal<[SeedAcceptance]>('seedAccepted');
export const seedRejectedSignal = defineSignal<[SeedRejection]>('seedRejected');
export const seedStatusQuery = defineQuery<{ state: SeedStatus; kcv: string | null }>('seedStatus');

const retry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

// No maximumAttempts: an outage of the broker, database or HSM delays the flow, it does not fail it.
const acts = proxyActivities<SeedActivities>({ startToCloseTimeout: '30 seconds', retry });

/**
 * Seed lifecycle (DESIGN.md): generate in the HSM → record pre_active →
 * publish SeedGenerated → wait for the token service's confirmation →
 * activate (previous version deactivated) → publish SeedActivated.
 * Before activation, a permanent failure destroys the unused key.
 */
export async function seedLifecycle(input: SeedLifecycleInput): Promise<SeedLifecycleResult> {
  const ref: SeedRef = { seedId: input.seedId, keyring: input.keyring, version: input.version };
  let state: SeedStatus = 'requested';
  let kcv: string | null = null;
  let verdict: { accepted: true; kcv: string } | { accepted: false; reason: string } | undefined;

  const setState = (next: SeedStatus): void => {
    state = next;
    upsertSearchAttributes([{ key: SeedStateAttribute, value: next }]);
  };
  setHandler(seedStatusQuery, () => ({ state, kcv }));
  setHandler(seedAcceptedSignal, (a) => {
    if (a.seedId === ref.seedId && verdict === undefined) verdict = { accepted: true, kcv: a.kcv };
  });
  setHandler(seedRejectedSignal, (r) => {
    if (r.seedId === ref.seedId && verdict === undefined) verdict = { accepted: false, reason: r.reason };
  });
  upsertSearchAttributes([
    { key: KeyringAttribute, value: ref.keyring },
    { key: SeedStateAttribute, value: state },
  ]);

  const compensate = async (err: unknown): Promise<never> => {
    const reason = err instanceof Error ? err.message : String(err);
    // Compensation must run even if the workflow is being cancelled.
    await CancellationScope.nonCancellable(() => acts.destroyUnusedSeed(ref, reason));
    setState('destroyed');
    throw err;
  };

  let generated: { hsmLabel: string; kcv: string };
  try {
    generated = await acts.generateSeedInHsm(ref);
    kcv = generated.kcv;
    await acts.recordSeedPreActive(ref, generated);
    setState('pre_active');
    await acts.publishSeedGenerated(ref, generated, workflowInfo().workflowId);

    const decided = await condition(() => verdict !== undefined, input.acceptanceTimeoutMs);
    if (!decided || verdict === undefined) {
      throw ApplicationFailure.nonRetryable(`The token service did not confirm seed v${ref.version} within ${input.acceptanceTimeoutMs} ms`, 'SeedAcceptanceTimeout');
    }
    if (!verdict.accepted) throw ApplicationFailure.nonRetryable(verdict.reason, 'SeedRejectedError');
    if (verdict.kcv !== generated.kcv) throw ApplicationFailure.nonRetryable('The token service confirmed a different KCV', 'SeedRejectedError');
  } catch (err) {
    return compensate(err);
  }

  // Accepted: from here a cancellation must not race activation against compensation,
  // nor leave an active seed unannounced.
  const seedKcv = generated.kcv;
  return CancellationScope.nonCancellable(async () => {
    let deactivated: SeedRef[];
    try {
      deactivated = await acts.activateSeed(ref);
    } catch (err) {
      return compensate(err); // e.g. a newer version won the race (seed_superseded)
    }
    setState('active');
    // Once active, the seed is never compensated: publishing retries until the broker takes it.
    await acts.publishSeedActivated(ref, seedKcv, deactivated);
    return { ...ref, state: 'active' as const, kcv: seedKcv, deactivatedVersions: deactivated.map((d) => d.version) };
  });
}
