/**
 * Domain errors carry a stable machine-readable code. The API maps each class
 * to one HTTP status; workflows list the non-retryable ones by name.
 */
export abstract class DomainError extends Error {
  abstract readonly status: number;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidInputError extends DomainError {
  readonly status = 400;
}

export class NotFoundError extends DomainError {
  readonly status = 404;
}

export class ConflictError extends DomainError {
  readonly status = 409;
}

/** A state change that the NIST lifecycle forbids (e.g. destroyed → active). */
export class IllegalSeedTransitionError extends DomainError {
  readonly status = 409;
  constructor(from: string, to: string) {
    super('illegal_seed_transition', `A seed cannot go from ${from} to ${to}.`);
  }
}

/** The token service could not use the seed (absent from the HSM, or KCV mismatch). */
export class SeedRejectedError extends DomainError {
  readonly status = 409;
  constructor(reason: string) {
    super('seed_rejected', reason);
  }
}

/** Names of errors a workflow must not retry (see workflows/seedLifecycle.ts). */
export const NON_RETRYABLE_ERROR_TYPES = [
  'InvalidInputError',
  'NotFoundError',
  'IllegalSeedTransitionError',
  'SeedRejectedError',
  'HsmConfigurationError',
];
