import { randomUUID } from 'node:crypto';
import { PulsarClosedError, PulsarSendError, PulsarTimeoutError } from './errors';
import { ReconnectingSocket } from './reconnectingSocket';
import { fullTopicName, topicPath, webSocketBase } from './topics';
import { type BackoffOptions, type PulsarConfig, type PulsarLogger, silentLogger } from './types';

/** Broker location plus producer settings, in one object (`{ ...pulsarConfig, topic }`). */
export interface ProducerOptions extends PulsarConfig {
  /** Bare topic name (placed in the configured namespace) or a full persistent:// name. */
  topic: string;
  /** Upper bound for one send, including any wait for a reconnection. Default 30 s. */
  sendTimeoutMs?: number;
  backoff?: BackoffOptions;
  logger?: PulsarLogger;
  /** Shown in the broker's topic stats; lets operators tell producers apart. */
  producerName?: string;
}

export interface OutgoingMessage {
  payload: Buffer | string;
  /** Routing/ordering key (Key_Shared subscriptions, compaction). */
  key?: string;
  properties?: Record<string, string>;
}

export interface SendReceipt {
  /** Broker-assigned id (base64 of Pulsar's MessageIdData), as the WebSocket API returns it. */
  messageId: string;
}

interface PendingSend {
  frame: string;
  resolve: (r: SendReceipt) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface ProducerAck {
  result?: string;
  messageId?: string;
  context?: string;
  errorMsg?: string;
}

/**
 * Publishes to one topic through the broker's WebSocket producer endpoint.
 *
 * Delivery is at-least-once: send() resolves only on the broker's ack for that message, and a
 * message whose connection dropped before its ack is sent again on the next connection (the
 * first send may or may not have been stored, and waiting for a timeout would not tell us).
 * Consumers therefore must be idempotent, which the design requires anyway.
 */
export class PulsarProducer {
  readonly topic: string;
  private readonly socket: ReconnectingSocket;
  private readonly pending = new Map<string, PendingSend>();
  private readonly sendTimeoutMs: number;
  private readonly logger: PulsarLogger;
  // Context ids only need to be unique per producer; the prefix keeps them unique per instance
  // in case the broker ever echoes a stale ack to a new connection.
  private readonly contextPrefix = randomUUID().slice(0, 8);
  private seq = 0;

  constructor(options: ProducerOptions) {
    const config: PulsarConfig = options;
    this.topic = fullTopicName(config, options.topic);
    this.sendTimeoutMs = options.sendTimeoutMs ?? 30_000;
    this.logger = options.logger ?? silentLogger;
    const query = options.producerName ? `?producerName=${encodeURIComponent(options.producerName)}` : '';
    const url = `${webSocketBase(config)}/ws/v2/producer/${topicPath(config, options.topic)}${query}`;
    this.socket = new ReconnectingSocket(
      url,
      {
        onOpen: () => this.flush(),
        onMessage: (text) => this.onAck(text),
        // Nothing to do: unacked frames stay in `pending` and are flushed on the next open.
        onDown: () => undefined,
      },
      this.logger,
      options.backoff,
      { topic: this.topic, role: 'producer' },
    );
  }

  /** Opens the connection ahead of the first send (optional: send() connects lazily). */
  connect(timeoutMs = this.sendTimeoutMs): Promise<void> {
    return this.socket.waitOpen(timeoutMs);
  }

  send(message: OutgoingMessage): Promise<SendReceipt> {
    if (this.socket.isClosed) return Promise.reject(new PulsarClosedError('producer is closed'));
    const context = `${this.contextPrefix}-${++this.seq}`;
    const payload = typeof message.payload === 'string' ? Buffer.from(message.payload, 'utf8') : message.payload;
    const frame = JSON.stringify({
      payload: payload.toString('base64'),
      properties: message.properties,
      key: message.key,
      context,
    });
    return new Promise<SendReceipt>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(context);
        reject(
          new PulsarTimeoutError(
            `no ack from Pulsar within ${this.sendTimeoutMs} ms` +
              (this.socket.isOpen ? '' : ` (not connected${this.socket.lastError ? `: ${this.socket.lastError}` : ''})`),
          ),
        );
      }, this.sendTimeoutMs);
      this.pending.set(context, { frame, resolve, reject, timer });
      this.socket.start();
      // While disconnected the frame just waits in `pending`; flush() sends it on open.
      this.socket.send(frame);
    });
  }

  /** Rejects every unacknowledged send and stops reconnecting. */
  async close(): Promise<void> {
    for (const [context, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(context);
      p.reject(new PulsarClosedError('producer closed before the broker acknowledged the message'));
    }
    await this.socket.close();
  }

  /** Pending sends in the order they were issued (Map keeps insertion order). */
  private flush(): void {
    for (const p of this.pending.values()) {
      if (!this.socket.send(p.frame)) return;
    }
  }

  private onAck(text: string): void {
    let ack: ProducerAck;
    try {
      ack = JSON.parse(text) as ProducerAck;
    } catch {
      this.logger.warn({ topic: this.topic }, 'pulsar producer: unparseable frame from broker');
      return;
    }
    const p = ack.context === undefined ? undefined : this.pending.get(ack.context);
    // A duplicate ack for a message re-sent after a reconnection has nothing left to settle.
    if (!p || ack.context === undefined) return;
    this.pending.delete(ack.context);
    clearTimeout(p.timer);
    if (ack.result === 'ok' && ack.messageId) {
      p.resolve({ messageId: ack.messageId });
    } else {
      this.logger.warn({ topic: this.topic, result: ack.result, errorMsg: ack.errorMsg }, 'pulsar producer: send rejected');
      p.reject(new PulsarSendError(ack.result ?? 'unknown', ack.errorMsg));
    }
  }
}
