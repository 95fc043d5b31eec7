import { ApplicationFailure } from '@temporalio/common';
import { seedEventId } from '../domain/events';
import { asTemporalFailure } from './failures';
import type { HsmPort, SeedEventPublisher, SeedRepository } from '../domain/ports';
import { seedHsmLabel, type SeedRef } from '../domain/seed';
import type { Logger } from '../config/logger';

export interface SeedActivityDeps {
  hsm: HsmPort;
  seeds: SeedRepository;
  events: SeedEventPublisher;
  logger: Logger;
  now?: () => Date;
}

export interface GeneratedSeed {
  hsmLabel: string;
  kcv: string;
}

/**
 * Seed lifecycle activities. Each one is idempotent: the HSM label embeds the
 * seed id, database writes are keyed by seed id, and event ids are deterministic.
 * Arguments and results carry ids and the KCV only, never key material.
 */
export function createSeedActivities(deps: SeedActivityDeps) {
  const { hsm, seeds, events, logger } = deps;
  const now = deps.now ?? (() => new Date());

  return {
    async generateSeedInHsm(ref: SeedRef): Promise<GeneratedSeed> {
      return asTemporalFailure(async () => {
        const key = await hsm.generateSeed(seedHsmLabel(ref));
        if (!key.sensitive || key.extractable) {
          await hsm.destroySeed(key.label);
          throw ApplicationFailure.nonRetryable(`HSM key ${key.label} is not sensitive/non-extractable`, 'HsmConfigurationError');
        }
        logger.info({ seedId: ref.seedId, keyring: ref.keyring, version: ref.version, kcv: key.kcv }, 'seed generated in HSM');
        return { hsmLabel: key.label, kcv: key.kcv };
      });
    },

    async recordSeedPreActive(ref: SeedRef, generated: GeneratedSeed): Promise<void> {
      await asTemporalFailure(() => seeds.recordPreActive(ref, generated.hsmLabel, generated.kcv));
    },

    async publishSeedGenerated(ref: SeedRef, generated: GeneratedSeed, workflowId: string): Promise<string> {
      const { messageId } = await asTemporalFailure(() => events.publish({
        type: 'SeedGenerated',
        eventId: seedEventId('SeedGenerated', ref.seedId),
        ...ref,
        kcv: generated.kcv,
        hsmLabel: generated.hsmLabel,
        workflowId,
        occurredAt: now().toISOString(),
      }));
      logger.info({ seedId: ref.seedId, messageId }, 'SeedGenerated published');
      return messageId;
    },

    async activateSeed(ref: SeedRef): Promise<SeedRef[]> {
      return asTemporalFailure(async () => {
        const { deactivated } = await seeds.activate(ref);
        logger.info({ seedId: ref.seedId, keyring: ref.keyring, version: ref.version, deactivated: deactivated.map((d) => d.version) }, 'seed activated');
        return deactivated;
      });
    },

    async publishSeedActivated(ref: SeedRef, kcv: string, deactivated: SeedRef[]): Promise<string> {
      const { messageId } = await asTemporalFailure(() => events.publish({
        type: 'SeedActivated',
        eventId: seedEventId('SeedActivated', ref.seedId),
        ...ref,
        kcv,
        deactivated: deactivated.map((d) => ({ seedId: d.seedId, version: d.version })),
        occurredAt: now().toISOString(),
      }));
      return messageId;
    },

    /** Compensation: shred the unused key in the HSM, then record why. */
    async destroyUnusedSeed(ref: SeedRef, reason: string): Promise<void> {
      await asTemporalFailure(async () => {
        // Database first: it refuses to destroy a seed that became active, so a
        // late compensation can never shred a key in use.
        await seeds.markDestroyed(ref, reason);
        const existed = await hsm.destroySeed(seedHsmLabel(ref));
        logger.warn({ seedId: ref.seedId, keyring: ref.keyring, version: ref.version, hsmKeyExisted: existed, reason }, 'unused seed destroyed');
      });
    },
  };
}

export type SeedActivities = ReturnType<typeof createSeedActivities>;
