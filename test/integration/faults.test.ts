import { createPrismaClient, type Db } from '../../adapters/db/prismaClient';
import { loadConfig } from '../../config/env';
import { getSeed, postSeed, waitForSeed } from '../support/http';
import { sleep, stack, startApi, startHsmWorker, startTokenWorker, uniqueKeyring, type ServiceProcess } from '../support/services';

/**
 * Crash and restart scenarios against the real stack. Each test leaves the
 * stack as it found it (Temporal running) even when an assertion fails.
 */
describe('fault tolerance of the seed lifecycle', () => {
  const port = 3102;
  const apiUrl = `http://127.0.0.1:${port}`;
  let api: ServiceProcess;
  let hsmWorker: ServiceProcess;
  let db: Db;

  beforeAll(async () => {
    db = createPrismaClient(loadConfig().DATABASE_URL, 2);
    api = await startApi(port);
    hsmWorker = await startHsmWorker();
  }, 180_000);

  afterAll(async () => {
    await Promise.all([api?.stop(), hsmWorker?.stop()]);
    await db?.$disconnect();
  });

  it('completes a lifecycle that was waiting while the Temporal server restarted', async () => {
    const keyring = uniqueKeyring('trestart');
    // No token service yet: the workflow parks waiting for the seed to be confirmed.
    const posted = await postSeed(apiUrl, keyring);
    expect(posted.status).toBe(202);
    await waitForSeed(apiUrl, posted.body.seedId, (s) => s.state === 'pre_active' && (s.history ?? []).some((h) => h.type === 'SeedGenerated'));

    let tokenWorker: ServiceProcess | null = null;
    try {
      await stack('down.sh', 'temporal');
      await sleep(2_000);
    } finally {
      await stack('up.sh', 'temporal');
    }
    try {
      tokenWorker = await startTokenWorker();
      const done = await waitForSeed(apiUrl, posted.body.seedId, (s) => s.state === 'active' && s.workflowStatus === 'COMPLETED', 120_000);
      expect(done.version).toBe(1);
      // The worker that was running across the restart carried on: it did not need a restart.
      expect(hsmWorker.child.exitCode).toBeNull();
    } finally {
      await tokenWorker?.stop();
    }
  }, 300_000);

  it('handles a redelivered SeedGenerated exactly once after the token service is SIGKILLed mid-processing', async () => {
    const keyring = uniqueKeyring('tkill');
    // The victim records its verdict, then stalls before acknowledging the message.
    const victim = await startTokenWorker({ TOKEN_SERVICE_ACK_DELAY_MS: '60000' });
    let successor: ServiceProcess | null = null;
    try {
      const posted = await postSeed(apiUrl, keyring);
      const seedId = posted.body.seedId;
      await victim.waitForLine(new RegExp(`"seedId":"${seedId}".*"msg":"seed accepted"`), 60_000);
      await victim.kill();

      successor = await startTokenWorker();
      // The broker redelivers the unacknowledged message; the new instance sees the verdict already recorded.
      const redelivered = await successor.waitForLine(new RegExp(`"seedId":"${seedId}".*"duplicate":true`), 90_000);
      expect(redelivered).toContain('seed already accepted (redelivery)');

      await waitForSeed(apiUrl, seedId, (s) => s.state === 'active' && s.workflowStatus === 'COMPLETED', 90_000);

      const seeds = await db.seed.findMany({ where: { keyringName: keyring } });
      expect(seeds).toHaveLength(1);
      expect(seeds.filter((s) => s.state === 'active')).toHaveLength(1);
      const verdicts = await db.seedEvent.findMany({ where: { seedId, type: { in: ['SeedAccepted', 'SeedRejected'] } } });
      expect(verdicts).toHaveLength(1);
      expect(verdicts[0]?.actor).toMatch(new RegExp(`:${victim.child.pid}$`));
      const view = await getSeed(apiUrl, seedId);
      expect(view.history?.filter((h) => h.type === 'SeedActivated')).toHaveLength(1);
    } finally {
      await victim.stop();
      await successor?.stop();
    }
  }, 300_000);
});
