import { decodeSeedEvent, type SeedActivatedEvent, type SeedGeneratedEvent } from '../domain/events';
import type { HsmPort, SeedRepository } from '../domain/ports';
import { seedHsmLabel, SeedState } from '../domain/seed';
import type { SeedVerdictSink } from '../domain/workflowPorts';
import type { Logger } from '../config/logger';
import type { WorkingKeyCache } from './workingKeys';

export interface SeedEventMessage {
  messageId: string;
  payload: Buffer;
  redeliveryCount: number;
}

export interface SeedEventHandlerDeps {
  hsm: HsmPort;
  seeds: SeedRepository;
  verdicts: SeedVerdictSink;
  logger: Logger;
  /** Identifies this token-service instance in the audit log. */
  instanceId: string;
  /**
   * SeedActivated derives the new version's working keys ahead of the first request.
   * Which version issues is not tracked here: tokenize reads it from the database
   * per request, so the switch needs no restart and survives missed events.
   */
  workingKeys: Pick<WorkingKeyCache, 'forSeed'>;
  /** Fault injection for crash tests: wait this long after handling, before the ack. */
  ackDelayMs?: number;
}

/**
 * The token service's side of the seed lifecycle. Resolving acknowledges the
 * Pulsar message; throwing negatively acknowledges it (redelivery, then the
 * dead-letter topic). Handling is idempotent: a redelivered SeedGenerated finds
 * its verdict already in the audit log and only repeats the (idempotent) signal.
 */
export function createSeedEventHandler(deps: SeedEventHandlerDeps) {
  const { logger } = deps;

  async function onSeedGenerated(event: SeedGeneratedEvent, msg: SeedEventMessage): Promise<void> {
    const expectedLabel = seedHsmLabel(event);
    const key = event.hsmLabel === expectedLabel ? await deps.hsm.findSeed(expectedLabel) : null;
    const checked = !key ? 'the seed is not in the HSM under its expected label' : key.kcv !== event.kcv ? 'the KCV in the HSM differs from the announced one' : null;

    const firstTime = await deps.seeds.appendAudit({
      seedId: event.seedId,
      keyring: event.keyring,
      type: checked ? 'SeedRejected' : 'SeedAccepted',
      actor: deps.instanceId,
      detail: { kcv: event.kcv, messageId: msg.messageId, redeliveryCount: msg.redeliveryCount, ...(checked ? { reason: checked } : {}) },
      dedupeKey: `SeedVerdict:${event.seedId}`,
    });
    // On a redelivery the recorded verdict stands, even if the HSM has changed since
    // (e.g. a compensation destroyed the key): the workflow must hear one story.
    const rejection = firstTime ? checked : await recordedRejection(event.seedId);
    const log = { seedId: event.seedId, keyring: event.keyring, version: event.version, redeliveryCount: msg.redeliveryCount, duplicate: !firstTime };
    if (rejection) {
      logger.warn({ ...log, reason: rejection }, 'seed rejected');
      await deps.verdicts.rejected(event.workflowId, { seedId: event.seedId, reason: rejection });
    } else {
      logger.info(log, firstTime ? 'seed accepted' : 'seed already accepted (redelivery)');
      await deps.verdicts.accepted(event.workflowId, { seedId: event.seedId, kcv: event.kcv, acceptedBy: deps.instanceId });
    }
  }

  async function recordedRejection(seedId: string): Promise<string | null> {
    const verdict = (await deps.seeds.listAudit(seedId)).find((e) => e.type === 'SeedAccepted' || e.type === 'SeedRejected');
    if (!verdict || verdict.type === 'SeedAccepted') return null;
    return typeof verdict.detail.reason === 'string' ? verdict.detail.reason : 'rejected earlier';
  }

  async function onSeedActivated(event: SeedActivatedEvent): Promise<void> {
    logger.info({ seedId: event.seedId, keyring: event.keyring, version: event.version }, 'seed activation observed');
    // Only a warm-up: tokenize derives on first use anyway, so a failure here must not hold the event back.
    try {
      await deps.workingKeys.forSeed({ seedId: event.seedId, hsmLabel: seedHsmLabel(event), state: SeedState.Active });
      logger.info({ seedId: event.seedId, keyring: event.keyring, version: event.version }, 'working keys derived');
    } catch (err) {
      logger.warn({ seedId: event.seedId, err: { name: (err as Error).name, message: (err as Error).message } }, 'could not pre-derive working keys');
    }
  }

  return async function handleSeedEvent(msg: SeedEventMessage): Promise<void> {
    const event = decodeSeedEvent(msg.payload);
    if (event.type === 'SeedGenerated') await onSeedGenerated(event, msg);
    else await onSeedActivated(event);
    if (deps.ackDelayMs) await new Promise((r) => setTimeout(r, deps.ackDelayMs));
  };
}
