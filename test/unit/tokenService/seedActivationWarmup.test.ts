import { encodeSeedEvent, type SeedActivatedEvent } from '../../../domain/events';
import { seedHsmLabel } from '../../../domain/seed';
import { createSeedEventHandler } from '../../../tokenService/seedEvents';
import { WorkingKeyCache } from '../../../tokenService/workingKeys';
import { FakeHsm, FakeVerdictSink, InMemorySeedRepository, silentLogger } from '../../support/fakes';
import { FakeDerivation } from './tokenFakes';

const ref = { seedId: '6f1c1c5e-7f36-4b43-9b8e-0d7f1f0a2b11', keyring: 'patients', version: 2 };
const activated: SeedActivatedEvent = { type: 'SeedActivated', eventId: `SeedActivated:${ref.seedId}`, ...ref, kcv: 'abcdef', deactivated: [], occurredAt: '2025-01-01T00:00:00.000Z' };
const message = { messageId: 'm1', payload: encodeSeedEvent(activated), redeliveryCount: 0 };

function handler(derive: (label: string) => Promise<never> | ReturnType<FakeDerivation['derive']>) {
  const workingKeys = new WorkingKeyCache(derive);
  const handle = createSeedEventHandler({ hsm: new FakeHsm(), seeds: new InMemorySeedRepository(), verdicts: new FakeVerdictSink(), workingKeys, logger: silentLogger(), instanceId: 't' });
  return { handle, workingKeys };
}

describe('SeedActivated warms the working keys', () => {
  it('derives the new version’s keys before the first request needs them', async () => {
    const derivation = new FakeDerivation();
    const { handle, workingKeys } = handler(derivation.derive);
    await handle(message);
    expect(derivation.derived).toEqual([seedHsmLabel(ref)]);
    expect(workingKeys.held()).toEqual([ref.seedId]);
  });

  it('still acknowledges the event when the HSM cannot derive (tokenize derives on first use)', async () => {
    const { handle, workingKeys } = handler(async () => {
      throw new Error('HSM busy');
    });
    await expect(handle(message)).resolves.toBeUndefined();
    expect(workingKeys.held()).toEqual([]);
  });
});
