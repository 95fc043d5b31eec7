import { randomBytes } from 'node:crypto';
import type { RandomSource } from '../../domain/keyPorts';

/** The operating system's CSPRNG through node:crypto. */
export const nodeRandom: RandomSource = {
  bytes: (length) => randomBytes(length),
};
