import { PulsarClosedError } from './errors';
import { ReconnectingSocket } from './reconnectingSocket';
import { fullTopicName, topicPath, webSocketBase } from './topics';
import { type BackoffOptions, type PulsarConfig, type PulsarLogger, silentLogger } from './types';

export type SubscriptionType = 'Exclusive' | 'Shared' | 'Failover' | 'Key_Shared';

export interface ConsumedMessage {
  /** Opaque id to ack/nack with; stable across redeliveries of the same message. */
  messageId: string;
  payload: Buffer;
  key: string | undefined;
  properties: Record<string, string>;
  /** 0 on first delivery; counts nacks/ack timeouts. */
  redeliveryCount: number;
  publishTime: string | undefined;
}

export type MessageHandler = (message: ConsumedMessage) => Promise<void>;

/** Broker location plus subscription settings, in one object (`{ ...pulsarConfig, topic, ... }`). */
export interface ConsumerOptions extends PulsarConfig {
  /** Bare topic name (placed in the configured namespace) or a full persistent:// name. */
  topic: string;
  subscription: string;
  handler: MessageHandler;
  subscriptionType?: SubscriptionType;
  /** Redeliver messages neither acked nor nacked within this time (0/undefined: never). */
  ackTimeoutMillis?: number;
  /** After this many redeliveries the message goes to the dead-letter topic instead. */
  maxRedeliverCount?: number;
  /** Bare or full name; Pulsar's default is <topic>-<subscription>-DLQ. */
  deadLetterTopic?: string;
  /** Delay before a nacked message is redelivered. */
  negativeAckRedeliveryDelayMs?: number;
  /** Most messages handled at once; also the credit granted to the broker. Default 16. */
  maxInFlight?: number;
  consumerName?: string;
  backoff?: BackoffOptions;
  logger?: PulsarLogger;
}

interface ConsumerFrame {
  messageId?: string;
  payload?: string;
  key?: string;
  properties?: Record<string, string>;
  redeliveryCount?: number;
  publishTime?: string;
}

/**
 * Subscribes to one topic through the broker's WebSocket consumer endpoint and runs `handler`
 * for each message: resolve → ack, throw → negative ack (redelivered after the nack delay, and
 * dead-lettered after maxRedeliverCount when configured).
 *
 * Flow control uses the endpoint's pull mode: the broker only pushes as many messages as we
 * granted permits for, so at most maxInFlight handlers run at once however deep the backlog is.
 */
export class PulsarConsumer {
  readonly topic: string;
  private readonly socket: ReconnectingSocket;
  private readonly handler: MessageHandler;
  private readonly logger: PulsarLogger;
  private readonly maxInFlight: number;
  /** messageId → running handler. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private closing = false;

  constructor(options: ConsumerOptions) {
    const config: PulsarConfig = options;
    this.topic = fullTopicName(config, options.topic);
    this.handler = options.handler;
    this.logger = options.logger ?? silentLogger;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 16);
    const query = new URLSearchParams({
      subscriptionType: options.subscriptionType ?? 'Shared',
      pullMode: 'true',
      receiverQueueSize: String(this.maxInFlight),
    });
    if (options.ackTimeoutMillis) query.set('ackTimeoutMillis', String(options.ackTimeoutMillis));
    if (options.maxRedeliverCount !== undefined) query.set('maxRedeliverCount', String(options.maxRedeliverCount));
    if (options.deadLetterTopic) query.set('deadLetterTopic', fullTopicName(config, options.deadLetterTopic));
    if (options.negativeAckRedeliveryDelayMs !== undefined) {
      query.set('negativeAckRedeliveryDelay', String(options.negativeAckRedeliveryDelayMs));
    }
    if (options.consumerName) query.set('consumerName', options.consumerName);
    const path = `${topicPath(config, options.topic)}/${encodeURIComponent(options.subscription)}`;
    this.socket = new ReconnectingSocket(
      `${webSocketBase(config)}/ws/v2/consumer/${path}?${query.toString()}`,
      {
        // Permits belong to a connection: a new one starts with none, so grant the free slots.
        onOpen: () => this.grant(this.maxInFlight - this.inFlight.size),
        onMessage: (text) => this.onFrame(text),
        // Unacked messages of the dropped connection are redelivered by the broker.
        onDown: () => undefined,
      },
      this.logger,
      options.backoff,
      { topic: this.topic, subscription: options.subscription, role: 'consumer' },
    );
  }

  /** Connects and resolves once subscribed (the subscription exists from then on). */
  start(timeoutMs = 30_000): Promise<void> {
    if (this.closing) return Promise.reject(new PulsarClosedError('consumer is closed'));
    return this.socket.waitOpen(timeoutMs);
  }

  /** Stops taking messages, waits for running handlers (so their acks go out), then closes. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.allSettled([...this.inFlight.values()]);
    await this.socket.close();
  }

  private grant(n: number): void {
    if (n > 0 && !this.closing) this.socket.send(JSON.stringify({ type: 'permit', permitMessages: n }));
  }

  private onFrame(text: string): void {
    let frame: ConsumerFrame;
    try {
      frame = JSON.parse(text) as ConsumerFrame;
    } catch {
      this.logger.warn({ topic: this.topic }, 'pulsar consumer: unparseable frame from broker');
      return;
    }
    const messageId = frame.messageId;
    if (!messageId || frame.payload === undefined) return; // control replies, e.g. isEndOfTopic
    if (this.closing) return; // not handled and not acked: the broker redelivers it after we leave
    if (this.inFlight.has(messageId)) {
      // Redelivered after a reconnection while the first delivery is still being handled: that
      // handler will ack it. Give back the permit this copy used.
      this.grant(1);
      return;
    }
    const message: ConsumedMessage = {
      messageId,
      payload: Buffer.from(frame.payload, 'base64'),
      key: frame.key,
      properties: frame.properties ?? {},
      redeliveryCount: frame.redeliveryCount ?? 0,
      publishTime: frame.publishTime,
    };
    const run = this.handle(message).finally(() => {
      this.inFlight.delete(messageId);
      this.grant(1);
    });
    this.inFlight.set(messageId, run);
  }

  /** Never rejects: the outcome becomes an ack or a nack. */
  private async handle(message: ConsumedMessage): Promise<void> {
    let ok = true;
    try {
      await this.handler(message);
    } catch (err) {
      ok = false;
      // Only the error's message: handlers must not put payload contents in errors (invariant 1).
      this.logger.warn(
        {
          topic: this.topic,
          messageId: message.messageId,
          redeliveryCount: message.redeliveryCount,
          error: err instanceof Error ? err.message : String(err),
        },
        'pulsar consumer: handler failed, negative ack',
      );
    }
    const frame = ok ? { messageId: message.messageId } : { type: 'negativeAcknowledge', messageId: message.messageId };
    // If the connection is gone the broker redelivers the message; the handler is idempotent.
    if (!this.socket.send(JSON.stringify(frame))) {
      this.logger.warn({ topic: this.topic, messageId: message.messageId }, 'pulsar consumer: not connected, ack/nack dropped');
    }
  }
}
