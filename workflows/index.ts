// Entry point bundled by the Temporal workers: every workflow the HSM service and the token service run.
export { seedLifecycle } from './seedLifecycle';
export { datasetJob } from './datasetJob';
