/**
 * The Pulsar adapter against the real standalone broker (`bash scripts/stack/pulsar.sh up`,
 * or `npm run stack:up`). Every run uses its own topics, so runs never see each other's messages.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import {
  type ConsumedMessage,
  PulsarAdmin,
  PulsarClosedError,
  type PulsarConfig,
  PulsarConsumer,
  type PulsarLogger,
  PulsarProducer,
  PulsarTimeoutError,
} from '../../adapters/pulsar';

const config: PulsarConfig = {
  webServiceUrl: process.env.PULSAR_WEB_URL ?? 'http://127.0.0.1:8080',
  tenant: process.env.PULSAR_TENANT ?? 'saludtech',
  namespace: process.env.PULSAR_NAMESPACE ?? 'keys',
};
const admin = new PulsarAdmin(config);
const runId = randomUUID().slice(0, 8);
const topics: string[] = [];
const closers: Array<() => Promise<void>> = [];

/** Records log lines so tests can assert that payloads never reach the logger. */
function recordingLogger(): PulsarLogger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (obj: Record<string, unknown>, msg?: string) => void lines.push(JSON.stringify({ ...obj, msg }));
  return { lines, info: rec, warn: rec, error: rec };
}

function newTopic(name: string): string {
  const topic = `it-${name}-${runId}`;
  topics.push(topic);
  return topic;
}

function producer(topic: string, extra: Partial<ConstructorParameters<typeof PulsarProducer>[0]> = {}): PulsarProducer {
  const p = new PulsarProducer({ ...config, topic, sendTimeoutMs: 15_000, ...extra });
  closers.push(() => p.close());
  return p;
}

function consumer(opts: Omit<ConstructorParameters<typeof PulsarConsumer>[0], keyof PulsarConfig>): PulsarConsumer {
  const c = new PulsarConsumer({ ...config, ...opts });
  closers.push(() => c.close());
  return c;
}

/** Resolves with the first `n` values pushed, or fails after timeoutMs. */
function collector<T>(n: number, timeoutMs = 30_000) {
  const items: T[] = [];
  let done!: () => void;
  const full = new Promise<void>((resolve) => (done = resolve));
  return {
    items,
    push(item: T) {
      items.push(item);
      if (items.length >= n) done();
    },
    wait: () =>
      Promise.race([
        full,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`got ${items.length}/${n} messages in ${timeoutMs} ms`)), timeoutMs).unref()),
      ]).then(() => items),
  };
}

/** TCP proxy to the broker whose connections the test can cut, like a broker restart would. */
class CuttableProxy {
  accepting = true;
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(target: URL): Promise<CuttableProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new CuttableProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => {
      if (!proxy.accepting) return void client.destroy();
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
        proxy.sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          proxy.sockets.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
    return proxy;
  }

  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

beforeAll(async () => {
  if (!(await admin.isHealthy())) {
    throw new Error(`Pulsar is not reachable at ${config.webServiceUrl}: run 'bash scripts/stack/pulsar.sh up'`);
  }
  await admin.ensureTenant();
  await admin.ensureNamespace({ retentionTimeInMinutes: 10080, retentionSizeInMB: 1024 });
});

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

afterAll(async () => {
  await Promise.all(topics.map((t) => admin.deleteTopic(t).catch(() => undefined)));
});

test('send resolves with the broker messageId and the consumer gets payload, key and properties', async () => {
  const topic = newTopic('roundtrip');
  const log = recordingLogger();
  const got = collector<ConsumedMessage>(1);
  const c = consumer({ topic, subscription: 'it', handler: async (m) => got.push(m), logger: log });
  await c.start();

  const p = producer(topic, { logger: log });
  const secret = `payload-${randomUUID()}`;
  const receipt = await p.send({ payload: Buffer.from(secret), key: 'seed-1', properties: { type: 'SeedGenerated', eventId: 'e1' } });
  expect(receipt.messageId).toEqual(expect.any(String));
  expect(receipt.messageId.length).toBeGreaterThan(0);

  const [m] = await got.wait();
  expect(m!.messageId).toBe(receipt.messageId);
  expect(m!.payload.toString()).toBe(secret);
  expect(m!.key).toBe('seed-1');
  expect(m!.properties).toEqual({ type: 'SeedGenerated', eventId: 'e1' });
  expect(m!.redeliveryCount).toBe(0);
  expect(log.lines.join('\n')).not.toContain(secret);
});

test('a handler that throws gets the message redelivered, and after maxRedeliverCount it is dead-lettered', async () => {
  const topic = newTopic('dlq');
  const dlqTopic = `${topic}-it-DLQ`;
  topics.push(dlqTopic);
  const log = recordingLogger();

  // WebSocket subscriptions start at the latest message: subscribe to the DLQ before anything lands.
  const dead = collector<ConsumedMessage>(1);
  const dlqConsumer = consumer({ topic: dlqTopic, subscription: 'inspect', handler: async (m) => dead.push(m) });
  await dlqConsumer.start();

  const attempts = collector<number>(3);
  const c = consumer({
    topic,
    subscription: 'it',
    maxRedeliverCount: 2,
    deadLetterTopic: dlqTopic,
    negativeAckRedeliveryDelayMs: 200,
    logger: log,
    handler: async (m) => {
      attempts.push(m.redeliveryCount);
      throw new Error('cannot use this seed yet');
    },
  });
  await c.start();

  const secret = `poison-${randomUUID()}`;
  const receipt = await producer(topic).send({ payload: secret, properties: { eventId: 'poison' } });

  // Delivery 0, then two redeliveries; the next redelivery goes to the DLQ instead of the handler.
  expect(await attempts.wait()).toEqual([0, 1, 2]);
  const [d] = await dead.wait();
  expect(d!.payload.toString()).toBe(secret);
  expect(d!.properties).toMatchObject({ eventId: 'poison' });
  expect(d!.properties.ORIGIN_MESSAGE_ID ?? d!.properties.REAL_TOPIC).toBeDefined();
  expect(attempts.items).toHaveLength(3);
  expect(receipt.messageId).toEqual(expect.any(String));
  expect(log.lines.some((l) => l.includes('negative ack') && l.includes('cannot use this seed yet'))).toBe(true);
  expect(log.lines.join('\n')).not.toContain(secret);
});

test('producer and consumer keep working across a topic unload (ownership change)', async () => {
  const topic = newTopic('unload');
  const got = new Set<string>();
  const both = collector<string>(1);
  const c = consumer({
    topic,
    subscription: 'it',
    handler: async (m) => {
      // At-least-once: a message in flight during the unload may arrive twice.
      got.add(m.payload.toString());
      if (got.has('before') && got.has('after')) both.push('done');
    },
  });
  await c.start();
  const p = producer(topic);
  await p.send({ payload: 'before' });
  await admin.unloadTopic(topic);
  const after = await p.send({ payload: 'after' });
  expect(after.messageId).toEqual(expect.any(String));
  await both.wait();
});

test('producer and consumer reconnect after their connections are cut, and sends issued meanwhile are delivered', async () => {
  // The broker's WebSocket proxy keeps client sessions across topic unloads (its internal client
  // reconnects), so the drop is made at the TCP level by a proxy in front of the broker.
  const proxy = await CuttableProxy.start(new URL(config.webServiceUrl));
  closers.push(() => proxy.stop());
  const viaProxy = { ...config, webServiceUrl: `http://127.0.0.1:${proxy.port}` };
  const backoff = { initialMs: 50, maxMs: 400 };
  const topic = newTopic('reconnect');
  const log = recordingLogger();
  const got = new Set<string>();
  const all = collector<string>(1);
  const c = new PulsarConsumer({
    ...viaProxy,
    topic,
    subscription: 'it',
    backoff,
    logger: log,
    handler: async (m) => {
      got.add(m.payload.toString());
      if (['before', 'during', 'after'].every((x) => got.has(x))) all.push('done');
    },
  });
  closers.push(() => c.close());
  await c.start();
  const p = new PulsarProducer({ ...viaProxy, topic, backoff, logger: log, sendTimeoutMs: 15_000 });
  closers.push(() => p.close());
  await p.send({ payload: 'before' });

  proxy.accepting = false;
  proxy.cut();
  const during = p.send({ payload: 'during' }); // waits for the reconnection
  await new Promise((r) => setTimeout(r, 700)); // several refused reconnection attempts
  proxy.accepting = true;

  expect((await during).messageId).toEqual(expect.any(String));
  await p.send({ payload: 'after' });
  await all.wait();
  expect(log.lines.filter((l) => l.includes('disconnected, reconnecting')).length).toBeGreaterThanOrEqual(2);
});

test('close() waits for running handlers, whose acks still reach the broker', async () => {
  const topic = newTopic('close');
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const started = collector<string>(1);
  let finished = false;
  const c = consumer({
    topic,
    subscription: 'it',
    handler: async (m) => {
      started.push(m.messageId);
      await gate;
      finished = true;
    },
  });
  await c.start();
  await producer(topic).send({ payload: 'slow' });
  await started.wait();

  const closing = c.close();
  setTimeout(release, 300);
  await closing;
  expect(finished).toBe(true);

  // The ack went out before the socket closed, so the subscription has no backlog left.
  const stats = (await admin.topicStats(topic)) as { subscriptions: Record<string, { msgBacklog: number }> };
  expect(stats.subscriptions.it!.msgBacklog).toBe(0);
});

test('at most maxInFlight handlers run at once (pull-mode permits)', async () => {
  const topic = newTopic('inflight');
  let running = 0;
  let peak = 0;
  const done = collector<string>(6);
  const c = consumer({
    topic,
    subscription: 'it',
    maxInFlight: 2,
    handler: async (m) => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 50));
      running--;
      done.push(m.payload.toString());
    },
  });
  await c.start();
  const p = producer(topic);
  await Promise.all(['1', '2', '3', '4', '5', '6'].map((payload) => p.send({ payload })));
  expect((await done.wait()).sort()).toEqual(['1', '2', '3', '4', '5', '6']);
  expect(peak).toBe(2);
});

test('send times out with a typed error when the broker is unreachable, and close() rejects pending sends', async () => {
  const unreachable = { ...config, webServiceUrl: 'http://127.0.0.1:1' };
  const p = new PulsarProducer({ ...unreachable, topic: 'nowhere', sendTimeoutMs: 500, backoff: { initialMs: 50, maxMs: 100 } });
  await expect(p.send({ payload: 'x' })).rejects.toBeInstanceOf(PulsarTimeoutError);

  const pending = p.send({ payload: 'y' });
  await p.close();
  await expect(pending).rejects.toBeInstanceOf(PulsarClosedError);
  await expect(p.send({ payload: 'z' })).rejects.toBeInstanceOf(PulsarClosedError);
});
