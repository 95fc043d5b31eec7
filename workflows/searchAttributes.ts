import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Registered on the Temporal server by scripts/stack/temporal.sh (--search-attribute). */
export const KeyringAttribute = defineSearchAttributeKey('Keyring', SearchAttributeType.KEYWORD);
export const SeedStateAttribute = defineSearchAttributeKey('SeedState', SearchAttributeType.KEYWORD);
