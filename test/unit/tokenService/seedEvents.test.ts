import { encodeSeedEvent, MalformedEventError, type SeedActivatedEvent, type SeedGeneratedEvent } from '../../../domain/events';
import { seedHsmLabel, type SeedRef } from '../../../domain/seed';
import { WorkingKeyCache } from '../../../tokenService/workingKeys';
import { createSeedEventHandler, type SeedEventMessage } from '../../../tokenService/seedEvents';
import { FakeHsm, FakeVerdictSink, InMemorySeedRepository, silentLogger } from '../../support/fakes';
import { FakeDerivation } from './tokenFakes';

const INSTANCE = 'token-service-test-1';

function setup() {
  const hsm = new FakeHsm();
  const seeds = new InMemorySeedRepository();
  const verdicts = new FakeVerdictSink();
  const derivation = new FakeDerivation();
  const workingKeys = new WorkingKeyCache(derivation.derive);
  const handle = createSeedEventHandler({ hsm, seeds, verdicts, workingKeys, logger: silentLogger(), instanceId: INSTANCE });
  return { hsm, seeds, verdicts, derivation, handle };
}

const ref: SeedRef = { seedId: '6f1c1c5e-7f36-4b43-9b8e-0d7f1f0a2b11', keyring: 'patients', version: 2 };

function generatedEvent(kcv: string, overrides: Partial<SeedGeneratedEvent> = {}): SeedGeneratedEvent {
  return {
    type: 'SeedGenerated',
    eventId: `SeedGenerated:${ref.seedId}`,
    ...ref,
    kcv,
    hsmLabel: seedHsmLabel(ref),
    workflowId: 'seed-patients-v2',
    occurredAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function activatedEvent(version: number): SeedActivatedEvent {
  return {
    type: 'SeedActivated',
    eventId: `SeedActivated:${ref.seedId}`,
    ...ref,
    version,
    kcv: 'abcdef',
    deactivated: [],
    occurredAt: '2025-01-01T00:00:00.000Z',
  };
}

function message(payload: Buffer, redeliveryCount = 0): SeedEventMessage {
  return { messageId: `m-${redeliveryCount}`, payload, redeliveryCount };
}

describe('token service: SeedGenerated', () => {
  it('accepts a seed present in the HSM with the announced KCV and signals the workflow', async () => {
    const { hsm, seeds, verdicts, handle } = setup();
    const key = await hsm.generateSeed(seedHsmLabel(ref));
    await handle(message(encodeSeedEvent(generatedEvent(key.kcv))));
    expect(verdicts.calls).toEqual([{ kind: 'accepted', workflowId: 'seed-patients-v2', verdict: { seedId: ref.seedId, kcv: key.kcv, acceptedBy: INSTANCE } }]);
    const audit = await seeds.listAudit(ref.seedId);
    expect(audit.map((e) => [e.type, e.actor])).toEqual([['SeedAccepted', INSTANCE]]);
    expect(audit[0]?.detail).toMatchObject({ kcv: key.kcv, messageId: 'm-0', redeliveryCount: 0 });
  });

  it('repeats the recorded acceptance on a redelivery even if the HSM key is gone by then', async () => {
    const { hsm, verdicts, handle } = setup();
    const key = await hsm.generateSeed(seedHsmLabel(ref));
    const payload = encodeSeedEvent(generatedEvent(key.kcv));
    await handle(message(payload));
    await hsm.destroySeed(seedHsmLabel(ref));
    await handle(message(payload, 1));
    expect(verdicts.calls.map((c) => c.kind)).toEqual(['accepted', 'accepted']);
  });

  it('rejects a seed that is not in the HSM', async () => {
    const { verdicts, seeds, handle } = setup();
    await handle(message(encodeSeedEvent(generatedEvent('abcdef'))));
    expect(verdicts.calls).toEqual([{ kind: 'rejected', workflowId: 'seed-patients-v2', verdict: { seedId: ref.seedId, reason: expect.stringMatching(/not in the HSM/) } }]);
    expect((await seeds.listAudit(ref.seedId)).map((e) => e.type)).toEqual(['SeedRejected']);
  });

  it('rejects a seed whose KCV in the HSM differs from the announced one', async () => {
    const { hsm, verdicts, handle } = setup();
    hsm.putKey(seedHsmLabel(ref), '111111');
    await handle(message(encodeSeedEvent(generatedEvent('222222'))));
    expect(verdicts.calls).toEqual([{ kind: 'rejected', workflowId: 'seed-patients-v2', verdict: { seedId: ref.seedId, reason: expect.stringMatching(/KCV/) } }]);
  });

  it('rejects an event announcing a label other than the seed’s own, without trusting it', async () => {
    const { hsm, verdicts, handle } = setup();
    const foreign = await hsm.generateSeed('seed:patients:v1:0b8a7c3e-1111-4222-8333-444455556666');
    await handle(message(encodeSeedEvent(generatedEvent(foreign.kcv, { hsmLabel: foreign.label }))));
    expect(verdicts.calls.map((c) => c.kind)).toEqual(['rejected']);
  });

  it('on a redelivery writes no second verdict but signals the workflow again', async () => {
    const { hsm, seeds, verdicts, handle } = setup();
    const key = await hsm.generateSeed(seedHsmLabel(ref));
    const payload = encodeSeedEvent(generatedEvent(key.kcv));
    await handle(message(payload, 0));
    await handle(message(payload, 1));
    expect((await seeds.listAudit(ref.seedId)).filter((e) => e.type === 'SeedAccepted')).toHaveLength(1);
    expect(verdicts.calls.map((c) => c.kind)).toEqual(['accepted', 'accepted']);
    expect(verdicts.calls[1]).toEqual(verdicts.calls[0]);
  });
});

describe('token service: malformed messages', () => {
  it.each([
    ['not JSON', Buffer.from('{{{', 'utf8')],
    ['an unknown field', Buffer.from(JSON.stringify({ ...generatedEvent('abcdef'), extra: 1 }), 'utf8')],
    ['a bad KCV', Buffer.from(JSON.stringify(generatedEvent('ABCDEF')), 'utf8')],
  ])('throws on a payload with %s so the consumer nacks it, with no verdict and no audit entry', async (_why, payload) => {
    const { seeds, verdicts, derivation, handle } = setup();
    await expect(handle(message(payload))).rejects.toThrow(MalformedEventError);
    expect(verdicts.calls).toEqual([]);
    expect(await seeds.listAudit(ref.seedId)).toEqual([]);
    expect(derivation.derived).toEqual([]);
  });
});

describe('token service: SeedActivated', () => {
  it('derives the activated version’s working keys, without any verdict', async () => {
    const { derivation, verdicts, handle } = setup();
    await handle(message(encodeSeedEvent(activatedEvent(2))));
    expect(derivation.derived).toEqual([seedHsmLabel({ ...ref, version: 2 })]);
    expect(verdicts.calls).toEqual([]);
  });
});
