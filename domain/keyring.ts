import { InvalidInputError } from './errors';

/** Lower-case slug: safe in URLs, Temporal workflow ids, HSM labels and Pulsar keys. */
export const KEYRING_NAME_PATTERN = /^[a-z][a-z0-9-]{1,62}[a-z0-9]$/;

export function assertKeyringName(name: string): string {
  if (!KEYRING_NAME_PATTERN.test(name)) {
    throw new InvalidInputError(
      'invalid_keyring_name',
      'Keyring names are 3-64 characters: lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen.',
    );
  }
  return name;
}
