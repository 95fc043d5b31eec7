import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { SeedReservation } from '../../domain/ports';
import type { SeedLifecycleStarter, SeedVerdictSink } from '../../domain/workflowPorts';
import { seedAcceptedSignal, seedLifecycle, seedRejectedSignal } from '../../workflows/seedLifecycle';
import { KeyringAttribute, SeedStateAttribute } from '../../workflows/searchAttributes';

export class TemporalSeedLifecycleStarter implements SeedLifecycleStarter {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly acceptanceTimeoutMs: number,
  ) {}

  async start(r: SeedReservation): Promise<void> {
    try {
      await this.client.workflow.start(seedLifecycle, {
        workflowId: r.workflowId,
        taskQueue: this.taskQueue,
        args: [{ seedId: r.seedId, keyring: r.keyring, version: r.version, acceptanceTimeoutMs: this.acceptanceTimeoutMs }],
        // One workflow per keyring version, ever: a replayed request never starts a second one.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: KeyringAttribute, value: r.keyring },
          { key: SeedStateAttribute, value: 'requested' },
        ],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  async status(workflowId: string): Promise<string | null> {
    try {
      const d = await this.client.workflow.getHandle(workflowId).describe();
      return d.status.name;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }
}

/** Delivers the token service's verdict as a signal; a closed workflow needs none. */
export class TemporalSeedVerdictSink implements SeedVerdictSink {
  constructor(private readonly client: Client) {}

  async accepted(workflowId: string, verdict: { seedId: string; kcv: string; acceptedBy: string }): Promise<void> {
    await this.signal(() => this.client.workflow.getHandle(workflowId).signal(seedAcceptedSignal, verdict));
  }

  async rejected(workflowId: string, verdict: { seedId: string; reason: string }): Promise<void> {
    await this.signal(() => this.client.workflow.getHandle(workflowId).signal(seedRejectedSignal, verdict));
  }

  private async signal(send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
}
