import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { DatasetJob, DatasetJobStarter } from '../../domain/datasetJob';
import { datasetJob } from '../../workflows/datasetJob';
import { KeyringAttribute } from '../../workflows/searchAttributes';

export class TemporalDatasetJobStarter implements DatasetJobStarter {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly parallelism: number,
  ) {}

  async start(job: DatasetJob): Promise<void> {
    try {
      await this.client.workflow.start(datasetJob, {
        workflowId: job.workflowId,
        taskQueue: this.taskQueue,
        args: [{ jobId: job.id, parallelism: this.parallelism }],
        // One workflow per job, ever: a replayed upload never starts a second one.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [{ key: KeyringAttribute, value: job.keyring }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}
