import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { GeneratedSeed, SeedActivities } from '../../activities/seeds';
import { seedHsmLabel, seedWorkflowId, type SeedRef } from '../../domain/seed';
import { KeyringAttribute, SeedStateAttribute } from '../../workflows/searchAttributes';
import { seedAcceptedSignal, seedLifecycle, seedRejectedSignal, seedStatusQuery } from '../../workflows/seedLifecycle';
import { fakeKcv } from '../support/fakes';

/**
 * The real seedLifecycle workflow, bundled as the HSM worker bundles it, on a real
 * local Temporal dev server, with fake activities that record their calls.
 * The test plays the token service by sending the verdict signals itself.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const WAITING_FOREVER_MS = 10 * 60 * 1000;

function temporalCliPath(): string {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} does not exist.`);
    return fromEnv;
  }
  const pointer = path.join(ROOT, '.cache', 'temporal', 'bin-path');
  if (!fs.existsSync(pointer)) {
    throw new Error(`No Temporal CLI: set TEMPORAL_CLI_PATH to the temporal binary, or run \`npm run stack:up\` so that ${pointer} names it.`);
  }
  const bin = fs.readFileSync(pointer, 'utf8').trim();
  if (!bin || !fs.existsSync(bin)) throw new Error(`${pointer} names "${bin}", which does not exist; re-run \`npm run stack:up\` or set TEMPORAL_CLI_PATH.`);
  return bin;
}

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  const bin = temporalCliPath();
  // The SDK logs every failed workflow as a warning; these tests fail workflows on purpose.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  [env, workflowBundle] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: bin },
        // The SDK turns these into --search-attribute Keyring=Keyword SeedState=Keyword.
        searchAttributes: [KeyringAttribute, SeedStateAttribute],
      },
    }),
    bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietBundlerLogger }),
  ]);
});

afterAll(async () => {
  await env?.teardown();
});

// ---------------------------------------------------------------------------------------------

type ActivityName = keyof SeedActivities;
interface ActivityCall {
  name: ActivityName;
  args: unknown[];
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Fake activities: same names and shapes as createSeedActivities, recording every call. */
function fakeActivities(overrides: Partial<SeedActivities> = {}) {
  const calls: ActivityCall[] = [];
  const generatedPublished = deferred<GeneratedSeed>();
  const record = (name: ActivityName, args: unknown[]) => calls.push({ name, args });
  const previousVersions = new Map<string, SeedRef[]>();

  const base: SeedActivities = {
    async generateSeedInHsm(ref) {
      record('generateSeedInHsm', [ref]);
      const hsmLabel = seedHsmLabel(ref);
      return { hsmLabel, kcv: fakeKcv(hsmLabel) };
    },
    async recordSeedPreActive(ref, generated) {
      record('recordSeedPreActive', [ref, generated]);
    },
    async publishSeedGenerated(ref, generated, workflowId) {
      record('publishSeedGenerated', [ref, generated, workflowId]);
      generatedPublished.resolve(generated);
      return 'msg-generated';
    },
    async activateSeed(ref) {
      record('activateSeed', [ref]);
      const previous = ref.version > 1 ? [{ seedId: randomUUID(), keyring: ref.keyring, version: ref.version - 1 }] : [];
      previousVersions.set(ref.seedId, previous);
      return previous;
    },
    async publishSeedActivated(ref, kcv, deactivated) {
      record('publishSeedActivated', [ref, kcv, deactivated]);
      return 'msg-activated';
    },
    async destroyUnusedSeed(ref, reason) {
      record('destroyUnusedSeed', [ref, reason]);
    },
  };
  const activities: SeedActivities = { ...base };
  for (const [name, impl] of Object.entries(overrides) as [ActivityName, (...a: unknown[]) => Promise<unknown>][]) {
    (activities as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      record(name, args);
      return impl(...args);
    };
  }
  return {
    activities,
    calls,
    names: () => calls.map((c) => c.name),
    argsOf: (name: ActivityName) => calls.find((c) => c.name === name)?.args,
    /** Resolves once the workflow announced the seed, i.e. it waits for the verdict. */
    generatedPublished: generatedPublished.promise,
    deactivatedFor: (seedId: string) => previousVersions.get(seedId) ?? [],
  };
}

let versionCounter = 1;
function newRef(): SeedRef {
  // A fresh version per test keeps workflow ids unique on the shared dev server.
  return { seedId: randomUUID(), keyring: 'patients', version: ++versionCounter };
}

async function withWorker<T>(activities: SeedActivities, body: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `seed-lifecycle-test-${randomUUID()}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
  return worker.runUntil(() => body(taskQueue));
}

function startLifecycle(taskQueue: string, ref: SeedRef, acceptanceTimeoutMs = WAITING_FOREVER_MS): Promise<WorkflowHandle<typeof seedLifecycle>> {
  return env.client.workflow.start(seedLifecycle, {
    taskQueue,
    workflowId: seedWorkflowId(ref.keyring, ref.version),
    args: [{ ...ref, acceptanceTimeoutMs }],
    typedSearchAttributes: [
      { key: KeyringAttribute, value: ref.keyring },
      { key: SeedStateAttribute, value: 'requested' },
    ],
  });
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function failureOf(handle: WorkflowHandle): Promise<WorkflowFailedError> {
  const outcome = await handle.result().then(
    (value: unknown) => new Error(`expected the workflow to fail, it returned ${JSON.stringify(value)}`),
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(WorkflowFailedError);
  return outcome as WorkflowFailedError;
}

async function seedStateAttribute(handle: WorkflowHandle): Promise<unknown> {
  return (await handle.describe()).typedSearchAttributes.get(SeedStateAttribute);
}

const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta),
  log: () => undefined,
};

// ---------------------------------------------------------------------------------------------

describe('seedLifecycle workflow', () => {
  it('activates the seed after the token service accepts it, running the steps in order', async () => {
    const fake = fakeActivities();
    const ref = newRef();
    await withWorker(fake.activities, async (taskQueue) => {
      const handle = await startLifecycle(taskQueue, ref);
      const generated = await within(fake.generatedPublished, 20_000, 'SeedGenerated');
      await handle.signal(seedAcceptedSignal, { seedId: ref.seedId, kcv: generated.kcv, acceptedBy: 'token-service-test' });

      const result = await handle.result();
      const deactivated = fake.deactivatedFor(ref.seedId);
      expect(deactivated).toHaveLength(1);
      expect(result).toEqual({ ...ref, state: 'active', kcv: generated.kcv, deactivatedVersions: [ref.version - 1] });
      expect(fake.names()).toEqual(['generateSeedInHsm', 'recordSeedPreActive', 'publishSeedGenerated', 'activateSeed', 'publishSeedActivated']);
      expect(fake.argsOf('recordSeedPreActive')).toEqual([ref, generated]);
      expect(fake.argsOf('publishSeedGenerated')).toEqual([ref, generated, handle.workflowId]);
      expect(fake.argsOf('activateSeed')).toEqual([ref]);
      expect(fake.argsOf('publishSeedActivated')).toEqual([ref, generated.kcv, deactivated]);
      expect(await seedStateAttribute(handle)).toBe('active');
      expect((await handle.describe()).typedSearchAttributes.get(KeyringAttribute)).toBe(ref.keyring);
    });
  });

  it('reports pre_active with the KCV through the seedStatus query while it waits for the verdict', async () => {
    const fake = fakeActivities();
    const ref = newRef();
    await withWorker(fake.activities, async (taskQueue) => {
      const handle = await startLifecycle(taskQueue, ref);
      const generated = await within(fake.generatedPublished, 20_000, 'SeedGenerated');

      expect(await handle.query(seedStatusQuery)).toEqual({ state: 'pre_active', kcv: generated.kcv });
      expect(await seedStateAttribute(handle)).toBe('pre_active');
      expect(fake.names()).not.toContain('activateSeed');

      await handle.signal(seedAcceptedSignal, { seedId: ref.seedId, kcv: generated.kcv, acceptedBy: 'token-service-test' });
      await handle.result();
      expect(await handle.query(seedStatusQuery)).toEqual({ state: 'active', kcv: generated.kcv });
    });
  });

  it('destroys the unused seed and fails when the token service rejects it', async () => {
    const fake = fakeActivities();
    const ref = newRef();
    const reason = 'the KCV in the HSM differs from the announced one';
    await withWorker(fake.activities, async (taskQueue) => {
      const handle = await startLifecycle(taskQueue, ref);
      await within(fake.generatedPublished, 20_000, 'SeedGenerated');
      await handle.signal(seedRejectedSignal, { seedId: ref.seedId, reason });

      const failure = await failureOf(handle);
      expect(failure.cause).toBeInstanceOf(ApplicationFailure);
      expect((failure.cause as ApplicationFailure).type).toBe('SeedRejectedError');
      expect(failure.cause?.message).toBe(reason);
      expect(fake.argsOf('destroyUnusedSeed')).toEqual([ref, reason]);
      expect(fake.names()).not.toContain('activateSeed');
      expect(fake.names()).not.toContain('publishSeedActivated');
      expect(await seedStateAttribute(handle)).toBe('destroyed');
    });
  });

  it('treats an acceptance that confirms a different KCV as a rejection', async () => {
    const fake = fakeActivities();
    const ref = newRef();
    await withWorker(fake.activities, async (taskQueue) => {
      const handle = await startLifecycle(taskQueue, ref);
      const generated = await within(fake.generatedPublished, 20_000, 'SeedGenerated');
      const otherKcv = generated.kcv === '000000' ? '111111' : '000000';
      await handle.signal(seedAcceptedSignal, { seedId: ref.seedId, kcv: otherKcv, acceptedBy: 'token-service-test' });

      const failure = await failureOf(handle);
      expect((failure.cause as ApplicationFailure).type).toBe('SeedRejectedError');
      expect(fake.names()).toEqual(['generateSeedInHsm', 'recordSeedPreActive', 'publishSeedGenerated', 'destroyUnusedSeed']);
    });
  });

  it('compensates when no verdict arrives within acceptanceTimeoutMs', async () => {
    const fake = fakeActivities();
    const ref = newRef();
    await withWorker(fake.activities, async (taskQueue) => {
      const started = Date.now();
      const handle = await startLifecycle(taskQueue, ref, 2_000);

      const failure = await failureOf(handle);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
      expect((failure.cause as ApplicationFailure).type).toBe('SeedAcceptanceTimeout');
      const [destroyedRef, reason] = fake.argsOf('destroyUnusedSeed') ?? [];
      expect(destroyedRef).toEqual(ref);
      expect(reason).toMatch(/did not confirm seed v\d+ within 2000 ms/);
      expect(fake.names()).not.toContain('activateSeed');
    });
  });

  it('compensates when activateSeed fails non-retryably with a ConflictError', async () => {
    const fake = fakeActivities({
      async activateSeed() {
        throw ApplicationFailure.create({ message: 'Version 9 of keyring patients is already active', type: 'ConflictError', nonRetryable: true, details: [{ code: 'seed_superseded' }] });
      },
    });
    const ref = newRef();
    await withWorker(fake.activities, async (taskQueue) => {
      const handle = await startLifecycle(taskQueue, ref);
      const generated = await within(fake.generatedPublished, 20_000, 'SeedGenerated');
      await handle.signal(seedAcceptedSignal, { seedId: ref.seedId, kcv: generated.kcv, acceptedBy: 'token-service-test' });

      const failure = await failureOf(handle);
      expect(failure.cause).toBeInstanceOf(ActivityFailure);
      expect(failure.cause?.cause).toBeInstanceOf(ApplicationFailure);
      expect((failure.cause?.cause as ApplicationFailure).type).toBe('ConflictError');
      expect(fake.names()).toEqual(['generateSeedInHsm', 'recordSeedPreActive', 'publishSeedGenerated', 'activateSeed', 'destroyUnusedSeed']);
      expect(fake.argsOf('destroyUnusedSeed')?.[0]).toEqual(ref);
      expect(await seedStateAttribute(handle)).toBe('destroyed');
    });
  });

  it('ignores a verdict about another seed', async () => {
    const fake = fakeActivities();
    const ref = newRef();
    await withWorker(fake.activities, async (taskQueue) => {
      const handle = await startLifecycle(taskQueue, ref);
      const generated = await within(fake.generatedPublished, 20_000, 'SeedGenerated');
      // Were it taken, this rejection would fail the workflow before the real acceptance arrives.
      await handle.signal(seedRejectedSignal, { seedId: randomUUID(), reason: 'not yours' });
      await handle.signal(seedAcceptedSignal, { seedId: randomUUID(), kcv: '000000', acceptedBy: 'token-service-test' });
      expect(await handle.query(seedStatusQuery)).toEqual({ state: 'pre_active', kcv: generated.kcv });

      await handle.signal(seedAcceptedSignal, { seedId: ref.seedId, kcv: generated.kcv, acceptedBy: 'token-service-test' });
      expect((await handle.result()).state).toBe('active');
      expect(fake.names()).not.toContain('destroyUnusedSeed');
    });
  });

  it('keeps the first verdict, even one sent before the workflow started waiting for it', async () => {
    const fake = fakeActivities();
    const ref = newRef();
    const kcv = fakeKcv(seedHsmLabel(ref));
    await withWorker(fake.activities, async (taskQueue) => {
      const handle = await startLifecycle(taskQueue, ref);
      await handle.signal(seedAcceptedSignal, { seedId: ref.seedId, kcv, acceptedBy: 'token-service-a' });
      await handle.signal(seedRejectedSignal, { seedId: ref.seedId, reason: 'late second opinion' });

      expect((await handle.result()).state).toBe('active');
      expect(fake.names()).not.toContain('destroyUnusedSeed');
    });
  });

  it('still destroys the unused seed when the workflow is cancelled while waiting', async () => {
    const fake = fakeActivities();
    const ref = newRef();
    await withWorker(fake.activities, async (taskQueue) => {
      const handle = await startLifecycle(taskQueue, ref);
      await within(fake.generatedPublished, 20_000, 'SeedGenerated');
      await handle.cancel();

      const failure = await failureOf(handle);
      expect(failure.cause).toBeInstanceOf(CancelledFailure);
      expect(fake.argsOf('destroyUnusedSeed')?.[0]).toEqual(ref);
      expect(fake.names()).not.toContain('activateSeed');
    });
  });
});

describe('seedLifecycle after acceptance', () => {
  it('finishes activation and announces it, without compensating, when cancelled during activation', async () => {
    const started = deferred<void>();
    const gate = deferred<void>();
    const fake = fakeActivities({
      activateSeed: async () => {
        started.resolve();
        await gate.promise;
        return [];
      },
    });
    const activationStarted = started.promise;
    const releaseActivation = () => gate.resolve();
    const ref = newRef();
    await withWorker(fake.activities, async (taskQueue) => {
      const handle = await startLifecycle(taskQueue, ref);
      const generated = await within(fake.generatedPublished, 20_000, 'SeedGenerated');
      await handle.signal(seedAcceptedSignal, { seedId: ref.seedId, kcv: generated.kcv, acceptedBy: 'token-service-test' });
      await within(activationStarted, 20_000, 'activateSeed');
      await handle.cancel();
      releaseActivation();

      const result = await handle.result();
      expect(result.state).toBe('active');
      expect(fake.names()).toContain('publishSeedActivated');
      expect(fake.names()).not.toContain('destroyUnusedSeed');
    });
  });
});

describe('seedLifecycle determinism', () => {
  it.each([
    ['an accepted run', 'accept'],
    ['a rejected, compensated run', 'reject'],
  ] as const)('replays the recorded history of %s against the current bundle', async (_what, verdict) => {
    const fake = fakeActivities();
    const ref = newRef();
    const history = await withWorker(fake.activities, async (taskQueue) => {
      const handle = await startLifecycle(taskQueue, ref);
      const generated = await within(fake.generatedPublished, 20_000, 'SeedGenerated');
      await handle.query(seedStatusQuery);
      if (verdict === 'accept') {
        await handle.signal(seedAcceptedSignal, { seedId: ref.seedId, kcv: generated.kcv, acceptedBy: 'token-service-test' });
        await handle.result();
      } else {
        await handle.signal(seedRejectedSignal, { seedId: ref.seedId, reason: 'rejected for replay' });
        await handle.result().catch(() => undefined);
      }
      return handle.fetchHistory();
    });

    expect(history.events?.length).toBeGreaterThan(10);
    await expect(Worker.runReplayHistory({ workflowBundle }, history, seedWorkflowId(ref.keyring, ref.version))).resolves.toBeUndefined();
  });
});
