import type { SeedReservation } from './ports';

/** What the API needs from the workflow engine, kept small so tests can fake it. */
export interface SeedLifecycleStarter {
  /** Starts the lifecycle for a reservation; starting one that already runs is not an error. */
  start(reservation: SeedReservation): Promise<void>;
  /** Temporal's view of the workflow (RUNNING, COMPLETED, FAILED, …) or null if unknown. */
  status(workflowId: string): Promise<string | null>;
}

/** What the token service needs: tell a waiting lifecycle its verdict on a seed. */
export interface SeedVerdictSink {
  accepted(workflowId: string, verdict: { seedId: string; kcv: string; acceptedBy: string }): Promise<void>;
  rejected(workflowId: string, verdict: { seedId: string; reason: string }): Promise<void>;
}
