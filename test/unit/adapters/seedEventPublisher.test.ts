import { decodeSeedEvent, type SeedGeneratedEvent } from '../../../domain/events';
import { PulsarSeedEventPublisher, type MessageSender } from '../../../adapters/pulsar/seedEventPublisher';

const seedId = '6f1c1c5e-7f36-4b43-9b8e-0d7f1f0a2b11';
const event: SeedGeneratedEvent = {
  type: 'SeedGenerated',
  eventId: `SeedGenerated:${seedId}`,
  seedId,
  keyring: 'patients',
  version: 1,
  kcv: 'a1b2c3',
  hsmLabel: `seed:patients:v1:${seedId}`,
  workflowId: 'seed-patients-v1',
  occurredAt: '2025-01-01T00:00:00.000Z',
};

function recordingSender() {
  const sent: Parameters<MessageSender['send']>[0][] = [];
  const sender: MessageSender = {
    async send(message) {
      sent.push(message);
      return { messageId: `id-${sent.length}` };
    },
  };
  return { sent, sender };
}

describe('PulsarSeedEventPublisher', () => {
  it('keys the message by seed id so one seed’s events stay in order, and returns the broker’s message id', async () => {
    const { sent, sender } = recordingSender();
    const result = await new PulsarSeedEventPublisher(sender).publish(event);
    expect(result).toEqual({ messageId: 'id-1' });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.key).toBe(seedId);
    expect(sent[0]?.properties).toEqual({ type: 'SeedGenerated', eventId: event.eventId, keyring: 'patients' });
    expect(decodeSeedEvent(sent[0]!.payload)).toEqual(event);
  });

  it('sends nothing when the event breaks its schema', async () => {
    const { sent, sender } = recordingSender();
    await expect(new PulsarSeedEventPublisher(sender).publish({ ...event, kcv: 'not-a-kcv' })).rejects.toThrow();
    expect(sent).toEqual([]);
  });
});
