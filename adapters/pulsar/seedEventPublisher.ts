import { encodeSeedEvent, type SeedEvent } from '../../domain/events';
import type { SeedEventPublisher } from '../../domain/ports';

/** The part of a Pulsar producer this publisher needs (resolves on the broker's ack). */
export interface MessageSender {
  send(message: { payload: Buffer; key?: string; properties?: Record<string, string> }): Promise<{ messageId: string }>;
}

/** Seed events keyed by seed id, so one seed's events keep their order on a partitioned topic. */
export class PulsarSeedEventPublisher implements SeedEventPublisher {
  constructor(private readonly producer: MessageSender) {}

  async publish(event: SeedEvent): Promise<{ messageId: string }> {
    return this.producer.send({
      payload: encodeSeedEvent(event),
      key: event.seedId,
      properties: { type: event.type, eventId: event.eventId, keyring: event.keyring },
    });
  }
}
