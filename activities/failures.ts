import { ApplicationFailure } from '@temporalio/common';
import { DomainError, NON_RETRYABLE_ERROR_TYPES } from '../domain/errors';

/**
 * Domain errors that retrying cannot fix become non-retryable failures of their own
 * type; anything else is retried by Temporal. ZodError: an event or payload that breaks
 * its own schema will not get better by retrying.
 */
export async function asTemporalFailure<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DomainError || (err instanceof Error && (NON_RETRYABLE_ERROR_TYPES.includes(err.name) || err.name === 'ZodError'))) {
      const code = err instanceof DomainError ? err.code : err.name;
      throw ApplicationFailure.create({ message: err.message, type: err.name, nonRetryable: true, details: [{ code }] });
    }
    throw err;
  }
}
