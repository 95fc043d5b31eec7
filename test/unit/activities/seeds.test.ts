import { ApplicationFailure } from '@temporalio/common';
import { createSeedActivities } from '../../../activities/seeds';
import { seedHsmLabel, SeedState, type SeedRef } from '../../../domain/seed';
import { FakeHsm, fakeKcv, InMemorySeedRepository, RecordingSeedEventPublisher, silentLogger } from '../../support/fakes';

const NOW = new Date('2025-03-04T05:06:07.000Z');

async function setup() {
  const hsm = new FakeHsm();
  const seeds = new InMemorySeedRepository();
  const events = new RecordingSeedEventPublisher();
  const acts = createSeedActivities({ hsm, seeds, events, logger: silentLogger(), now: () => NOW });
  const v1 = await seeds.reserveSeed('patients', null);
  const v2 = await seeds.reserveSeed('patients', null);
  return { hsm, seeds, events, acts, v1: ref(v1), v2: ref(v2) };
}

function ref(r: SeedRef): SeedRef {
  return { seedId: r.seedId, keyring: r.keyring, version: r.version };
}

/** Runs fn and returns what it threw, failing the test if it did not throw. */
async function failureOf(fn: () => Promise<unknown>): Promise<ApplicationFailure> {
  const outcome = await fn().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(ApplicationFailure);
  return outcome as ApplicationFailure;
}

describe('generateSeedInHsm', () => {
  it('makes a key under the seed’s HSM label and returns only label and KCV', async () => {
    const { acts, hsm, v1 } = await setup();
    const generated = await acts.generateSeedInHsm(v1);
    expect(generated).toEqual({ hsmLabel: seedHsmLabel(v1), kcv: fakeKcv(seedHsmLabel(v1)) });
    expect([...hsm.keys.keys()]).toEqual([seedHsmLabel(v1)]);
  });

  it('is idempotent for one seed id: a retry finds the key it already made', async () => {
    const { acts, hsm, v1 } = await setup();
    const first = await acts.generateSeedInHsm(v1);
    const retry = await acts.generateSeedInHsm(v1);
    expect(retry).toEqual(first);
    expect(hsm.keys.size).toBe(1);
    expect(hsm.generateCalls).toBe(2);
  });

  it('destroys a key the HSM reports as extractable and fails without retrying', async () => {
    const { acts, hsm, v1 } = await setup();
    hsm.reportExtractable = true;
    const failure = await failureOf(() => acts.generateSeedInHsm(v1));
    expect(failure.type).toBe('HsmConfigurationError');
    expect(failure.nonRetryable).toBe(true);
    expect(hsm.destroyCalls).toEqual([seedHsmLabel(v1)]);
    expect(hsm.keys.size).toBe(0);
  });

  it('lets an HSM outage through unchanged so Temporal retries it', async () => {
    const { acts, hsm, v1 } = await setup();
    const outage = new Error('CKR_DEVICE_ERROR');
    hsm.generateSeed = async () => {
      throw outage;
    };
    await expect(acts.generateSeedInHsm(v1)).rejects.toBe(outage);
  });

  it('turns an adapter error named in NON_RETRYABLE_ERROR_TYPES into a non-retryable failure of that type', async () => {
    const { acts, hsm, v1 } = await setup();
    class HsmConfigurationError extends Error {
      override readonly name = 'HsmConfigurationError';
    }
    hsm.generateSeed = async () => {
      throw new HsmConfigurationError('No PKCS#11 token labelled "x"');
    };
    const failure = await failureOf(() => acts.generateSeedInHsm(v1));
    expect(failure.type).toBe('HsmConfigurationError');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe('No PKCS#11 token labelled "x"');
  });
});

describe('recordSeedPreActive', () => {
  it('records the seed as pre_active with its label and KCV', async () => {
    const { acts, seeds, v1 } = await setup();
    const generated = await acts.generateSeedInHsm(v1);
    await acts.recordSeedPreActive(v1, generated);
    expect(await seeds.getSeed(v1.seedId)).toMatchObject({ ...v1, state: SeedState.PreActive, hsmLabel: generated.hsmLabel, kcv: generated.kcv });
  });

  it('is idempotent: a retry writes neither a second seed nor a second audit entry', async () => {
    const { acts, seeds, v1 } = await setup();
    const generated = await acts.generateSeedInHsm(v1);
    await acts.recordSeedPreActive(v1, generated);
    await acts.recordSeedPreActive(v1, generated);
    expect(await seeds.listSeeds('patients')).toHaveLength(1);
    expect((await seeds.listAudit(v1.seedId)).filter((e) => e.type === 'SeedGenerated')).toHaveLength(1);
  });

  it('turns a record with a different KCV into a non-retryable ConflictError failure', async () => {
    const { acts, v1 } = await setup();
    const generated = await acts.generateSeedInHsm(v1);
    await acts.recordSeedPreActive(v1, generated);
    const failure = await failureOf(() => acts.recordSeedPreActive(v1, { ...generated, kcv: '000000' }));
    expect(failure.type).toBe('ConflictError');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.details).toEqual([{ code: 'seed_mismatch' }]);
  });
});

describe('publishing seed events', () => {
  it('publishes SeedGenerated with ids, version, KCV and a deterministic event id', async () => {
    const { acts, events, v1 } = await setup();
    const generated = await acts.generateSeedInHsm(v1);
    const messageId = await acts.publishSeedGenerated(v1, generated, 'seed-patients-v1');
    expect(messageId).toBe('msg-1');
    expect(events.published).toEqual([
      {
        type: 'SeedGenerated',
        eventId: `SeedGenerated:${v1.seedId}`,
        ...v1,
        kcv: generated.kcv,
        hsmLabel: generated.hsmLabel,
        workflowId: 'seed-patients-v1',
        occurredAt: NOW.toISOString(),
      },
    ]);
  });

  it('publishes SeedActivated listing the deactivated versions', async () => {
    const { acts, events, v1, v2 } = await setup();
    await acts.publishSeedActivated(v2, 'abc123', [v1]);
    expect(events.published).toEqual([
      { type: 'SeedActivated', eventId: `SeedActivated:${v2.seedId}`, ...v2, kcv: 'abc123', deactivated: [{ seedId: v1.seedId, version: 1 }], occurredAt: NOW.toISOString() },
    ]);
  });

  it('gives a republished event the same event id, so consumers can recognise it', async () => {
    const { acts, events, v1 } = await setup();
    const generated = await acts.generateSeedInHsm(v1);
    await acts.publishSeedGenerated(v1, generated, 'seed-patients-v1');
    await acts.publishSeedGenerated(v1, generated, 'seed-patients-v1');
    expect(events.published[0]?.eventId).toBe(events.published[1]?.eventId);
  });
});

describe('activateSeed', () => {
  async function recorded() {
    const ctx = await setup();
    for (const r of [ctx.v1, ctx.v2]) await ctx.acts.recordSeedPreActive(r, await ctx.acts.generateSeedInHsm(r));
    return ctx;
  }

  it('activates the first version of a keyring with nothing to deactivate', async () => {
    const { acts, seeds, v1 } = await recorded();
    expect(await acts.activateSeed(v1)).toEqual([]);
    expect((await seeds.getSeed(v1.seedId))?.state).toBe(SeedState.Active);
  });

  it('deactivates the previous version when v2 becomes active', async () => {
    const { acts, seeds, v1, v2 } = await recorded();
    await acts.activateSeed(v1);
    expect(await acts.activateSeed(v2)).toEqual([v1]);
    expect((await seeds.getSeed(v1.seedId))?.state).toBe(SeedState.Deactivated);
    expect((await seeds.getSeed(v2.seedId))?.state).toBe(SeedState.Active);
    expect((await seeds.listActive()).map((s) => s.version)).toEqual([2]);
  });

  it('reports the same deactivated versions when retried after it succeeded', async () => {
    const { acts, v1, v2 } = await recorded();
    await acts.activateSeed(v1);
    const first = await acts.activateSeed(v2);
    expect(await acts.activateSeed(v2)).toEqual(first);
  });

  it('refuses to activate v1 once v2 is active, as a non-retryable ConflictError', async () => {
    const { acts, seeds, v1, v2 } = await recorded();
    await acts.activateSeed(v2);
    const failure = await failureOf(() => acts.activateSeed(v1));
    expect(failure.type).toBe('ConflictError');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.details).toEqual([{ code: 'seed_superseded' }]);
    expect((await seeds.getSeed(v2.seedId))?.state).toBe(SeedState.Active);
    expect((await seeds.getSeed(v1.seedId))?.state).toBe(SeedState.PreActive);
  });

  it('turns an illegal transition into a non-retryable failure named IllegalSeedTransitionError', async () => {
    const { acts, v1 } = await recorded();
    await acts.destroyUnusedSeed(v1, 'test');
    const failure = await failureOf(() => acts.activateSeed(v1));
    expect(failure.type).toBe('IllegalSeedTransitionError');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.details).toEqual([{ code: 'illegal_seed_transition' }]);
  });
});

describe('destroyUnusedSeed (compensation)', () => {
  it('shreds the key in the HSM and records the seed as destroyed with the reason', async () => {
    const { acts, hsm, seeds, v1 } = await setup();
    await acts.recordSeedPreActive(v1, await acts.generateSeedInHsm(v1));
    await acts.destroyUnusedSeed(v1, 'token service rejected it');
    expect(hsm.keys.has(seedHsmLabel(v1))).toBe(false);
    expect(await seeds.getSeed(v1.seedId)).toMatchObject({ state: SeedState.Destroyed, stateReason: 'token service rejected it' });
  });

  it('is idempotent: a retry after success changes nothing and does not fail', async () => {
    const { acts, seeds, v1 } = await setup();
    await acts.recordSeedPreActive(v1, await acts.generateSeedInHsm(v1));
    await acts.destroyUnusedSeed(v1, 'first');
    await acts.destroyUnusedSeed(v1, 'retry');
    expect(await seeds.getSeed(v1.seedId)).toMatchObject({ state: SeedState.Destroyed, stateReason: 'first' });
    expect((await seeds.listAudit(v1.seedId)).filter((e) => e.type === 'SeedDestroyed')).toHaveLength(1);
  });

  it('shreds a key that was generated but never recorded', async () => {
    const { acts, hsm, v1 } = await setup();
    await acts.generateSeedInHsm(v1);
    await acts.destroyUnusedSeed(v1, 'recording failed');
    expect(hsm.keys.size).toBe(0);
  });

  it('refuses and leaves the HSM key alone when the seed is already active', async () => {
    const { acts, hsm, seeds, v1 } = await setup();
    await acts.recordSeedPreActive(v1, await acts.generateSeedInHsm(v1));
    await acts.activateSeed(v1);
    const failure = await failureOf(() => acts.destroyUnusedSeed(v1, 'late compensation'));
    expect(failure.type).toBe('IllegalSeedTransitionError');
    expect(failure.nonRetryable).toBe(true);
    expect(hsm.keys.has(seedHsmLabel(v1))).toBe(true);
    expect(hsm.destroyCalls).toEqual([]);
    expect((await seeds.getSeed(v1.seedId))?.state).toBe(SeedState.Active);
  });
});
