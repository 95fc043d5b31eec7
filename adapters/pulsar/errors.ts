/**
 * Typed failures so callers (Temporal activities) can tell a retryable outcome from a bug
 * without parsing messages. None of them carries payload bytes.
 */
export class PulsarError extends Error {
  override readonly name: string = 'PulsarError';
}

/** The broker answered a send with a non-ok result (e.g. send-error, topic terminated). */
export class PulsarSendError extends PulsarError {
  override readonly name = 'PulsarSendError';
  constructor(
    readonly result: string,
    readonly errorMsg: string | undefined,
  ) {
    super(`Pulsar rejected the message: ${result}${errorMsg ? ` (${errorMsg})` : ''}`);
  }
}

/** No ack within the send timeout. The message may or may not have been persisted. */
export class PulsarTimeoutError extends PulsarError {
  override readonly name = 'PulsarTimeoutError';
}

/** The producer/consumer was closed before the operation finished. */
export class PulsarClosedError extends PulsarError {
  override readonly name = 'PulsarClosedError';
}

/** An admin REST call failed; status 0 means no HTTP response at all. */
export class PulsarAdminError extends PulsarError {
  override readonly name = 'PulsarAdminError';
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly body: string,
  ) {
    super(`Pulsar admin ${method} ${path} failed: HTTP ${status} ${body.slice(0, 300)}`);
  }
}
