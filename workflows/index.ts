// Entry point bundled by the Temporal worker: every workflow the HSM service runs.
export { seedLifecycle } from './seedLifecycle';
