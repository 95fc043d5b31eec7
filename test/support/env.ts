// Tests publish on their own topic, so a demo left running (npm run demo) cannot
// consume their messages, and their messages never reach the demo's token service.
process.env.PULSAR_SEED_TOPIC ??= 'seed-events-test';
// Likewise their workflows run on their own task queue, served only by the workers the tests start.
process.env.HSM_TASK_QUEUE ??= 'hsm-service-test';
process.env.TOKEN_TASK_QUEUE ??= 'token-service-test';
process.env.PULSAR_DATASET_TOPIC ??= 'dataset-events-test';
process.env.LOG_LEVEL ??= 'info';
