/**
 * Pulsar adapter over the broker's WebSocket API (the native npm client cannot be installed on
 * these machines; see docs/ENVIRONMENT notes) plus a small admin REST client.
 */
export type { PulsarConfig, PulsarLogger, BackoffOptions } from './types';
export { PulsarProducer, type ProducerOptions, type OutgoingMessage, type SendReceipt } from './producer';
export { PulsarConsumer, type ConsumerOptions, type ConsumedMessage, type MessageHandler, type SubscriptionType } from './consumer';
export { PulsarAdmin, type RetentionPolicy } from './admin';
export { PulsarError, PulsarSendError, PulsarTimeoutError, PulsarClosedError, PulsarAdminError } from './errors';
export { fullTopicName } from './topics';
