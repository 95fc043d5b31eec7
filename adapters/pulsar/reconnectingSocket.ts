import WebSocket from 'ws';
import { backoffDelay } from './backoff';
import { PulsarClosedError, PulsarTimeoutError } from './errors';
import type { BackoffOptions, PulsarLogger } from './types';

export interface SocketEvents {
  /** A (re)connection is open: the owner re-sends whatever it still owes the broker. */
  onOpen(): void;
  onMessage(text: string): void;
  /** The connection dropped; a reconnection is already scheduled unless close() was called. */
  onDown(): void;
}

/**
 * One logical WebSocket session with the broker that survives drops. Pulsar closes WebSocket
 * sessions on broker restart, topic unload/ownership change and idle timeout, so both the
 * producer and the consumer need the same "reconnect with backoff until closed" loop.
 */
export class ReconnectingSocket {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;
  private openWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  /** Last connection failure, reported in timeout errors so "why" is not lost. */
  lastError: string | undefined;

  constructor(
    private readonly url: string,
    private readonly events: SocketEvents,
    private readonly logger: PulsarLogger,
    private readonly backoff: BackoffOptions = {},
    private readonly logContext: Record<string, unknown> = {},
  ) {}

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Starts connecting (idempotent). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.connect();
  }

  /** Resolves once a connection is open, rejects after timeoutMs or when closed first. */
  waitOpen(timeoutMs: number): Promise<void> {
    this.start();
    if (this.closed) return Promise.reject(new PulsarClosedError('socket closed'));
    if (this.isOpen) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(t);
          reject(e);
        },
      };
      const t = setTimeout(() => {
        this.openWaiters = this.openWaiters.filter((w) => w !== waiter);
        reject(new PulsarTimeoutError(`no connection to Pulsar within ${timeoutMs} ms${this.lastError ? `: ${this.lastError}` : ''}`));
      }, timeoutMs);
      this.openWaiters.push(waiter);
    });
  }

  /** Sends on the current connection; false when there is none (caller keeps the frame). */
  send(text: string): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(text);
    return true;
  }

  /** Stops reconnecting and closes the connection; resolves once it is closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.openWaiters.splice(0)) w.reject(new PulsarClosedError('socket closed'));
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      // A broker that does not answer the close handshake must not hang shutdown.
      const t = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2_000);
      ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'client closing');
    });
  }

  private connect(): void {
    const ws = new WebSocket(this.url, { handshakeTimeout: 10_000 });
    this.ws = ws;
    ws.on('open', () => {
      this.attempt = 0;
      this.lastError = undefined;
      this.logger.info({ ...this.logContext }, 'pulsar websocket connected');
      for (const w of this.openWaiters.splice(0)) w.resolve();
      this.events.onOpen();
    });
    ws.on('message', (data: WebSocket.RawData) => {
      this.events.onMessage(data.toString());
    });
    // 'error' is always followed by 'close'; handling it here keeps it from being thrown.
    ws.on('error', (err: Error) => {
      this.lastError = err.message;
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.events.onDown();
      if (this.closed) return;
      const delay = backoffDelay(this.attempt++, this.backoff);
      this.logger.warn(
        { ...this.logContext, code, reason: reason.toString() || undefined, error: this.lastError, retryInMs: delay },
        'pulsar websocket disconnected, reconnecting',
      );
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.closed) this.connect();
      }, delay);
    });
  }
}
