import WebSocket from 'ws';
import { Pkcs11Hsm } from '../../adapters/hsm/pkcs11Hsm';
import { createPrismaClient, type Db } from '../../adapters/db/prismaClient';
import { connectTemporalClient } from '../../adapters/temporal/connection';
import { exportHsmEnvironment, loadConfig } from '../../config/env';
import { postSeed, waitForSeed } from '../support/http';
import { collectPayloads, scanValue, type Finding } from '../support/secretScan';
import { startAll, uniqueKeyring, type AppServices } from '../support/services';
import * as graphene from 'graphene-pk11';

const config = loadConfig();

/** Reads a topic from the start through Pulsar's WebSocket reader until it goes quiet. */
async function readTopic(topic: string): Promise<Array<{ payload: Buffer; properties: Record<string, string> }>> {
  const url = `${config.PULSAR_WEB_URL.replace(/^http/, 'ws')}/ws/v2/reader/persistent/${config.PULSAR_TENANT}/${config.PULSAR_NAMESPACE}/${topic}?messageId=earliest`;
  const ws = new WebSocket(url);
  const out: Array<{ payload: Buffer; properties: Record<string, string> }> = [];
  await new Promise<void>((resolve, reject) => {
    let quiet = setTimeout(() => ws.close(), 3_000);
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { payload: string; properties?: Record<string, string>; messageId: string };
      out.push({ payload: Buffer.from(msg.payload, 'base64'), properties: msg.properties ?? {} });
      ws.send(JSON.stringify({ messageId: msg.messageId }));
      clearTimeout(quiet);
      quiet = setTimeout(() => ws.close(), 1_500);
    });
    ws.on('close', () => resolve());
    ws.on('error', reject);
  });
  return out;
}

/**
 * Invariant 1: after real lifecycles, no seed material is in Temporal
 * histories, Pulsar topics or the database; the HSM keeps every seed sensitive
 * and non-extractable, and destroyed seeds are gone from it.
 */
describe('no seed material leaves the HSM', () => {
  let app: AppServices;
  let db: Db;
  let keyring: string;

  beforeAll(async () => {
    db = createPrismaClient(config.DATABASE_URL, 2);
    app = await startAll(3103);
    keyring = uniqueKeyring('scan');
    for (let i = 0; i < 2; i++) {
      const posted = await postSeed(app.apiUrl, keyring);
      await waitForSeed(app.apiUrl, posted.body.seedId, (s) => s.workflowStatus === 'COMPLETED');
    }
  }, 240_000);

  afterAll(async () => {
    await app?.stop();
    await db?.$disconnect();
  });

  it('finds only ids, versions and KCVs in every seed workflow history', async () => {
    const client = await connectTemporalClient({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE });
    const findings: Finding[] = [];
    const scanned: unknown[] = [];
    let histories = 0;
    try {
      for await (const wf of client.workflow.list({ query: `WorkflowType = 'seedLifecycle'` })) {
        const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
        const payloads = collectPayloads(history.events);
        scanValue(`temporal:${wf.workflowId}`, payloads, '$', findings);
        scanned.push(...payloads);
        histories++;
      }
    } finally {
      await client.connection.close();
    }
    expect(histories).toBeGreaterThanOrEqual(2);
    // The scan must have seen real payloads (this run's inputs and KCVs), or it proves nothing.
    const seen = JSON.stringify(scanned);
    expect(seen).toContain(`"keyring":"${keyring}"`);
    expect(seen).toMatch(/"kcv":"[0-9a-f]{6}"/);
    expect(findings).toEqual([]);
  });

  it('finds only ids, versions and KCVs on the seed topics', async () => {
    const messages = await readTopic(config.PULSAR_SEED_TOPIC);
    expect(messages.filter((m) => m.properties.keyring === keyring).map((m) => m.properties.type)).toEqual(['SeedGenerated', 'SeedActivated', 'SeedGenerated', 'SeedActivated']);
    const findings = messages.flatMap((m, i) => scanValue(`pulsar:${i}`, { payload: JSON.parse(m.payload.toString('utf8')), properties: m.properties }));
    expect(findings).toEqual([]);
  });

  it('finds only metadata in the seed tables and no binary column but the sealed vault values', async () => {
    const binaryColumns = await db.$queryRaw<Array<{ table_name: string; column_name: string }>>`
      SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND data_type = 'bytea'`;
    // AES-GCM ciphertexts of tokenized values; seed material has no column to go to.
    expect(binaryColumns).toEqual([{ table_name: 'tokens', column_name: 'sealed_value' }]);
    const rows = {
      keyrings: await db.keyring.findMany(),
      seedRequests: await db.seedRequest.findMany(),
      seeds: await db.seed.findMany(),
      seedEvents: (await db.seedEvent.findMany()).map((e) => ({ ...e, id: e.id.toString() })),
    };
    expect(rows.seeds.length).toBeGreaterThanOrEqual(2);
    expect(scanValue('postgres', JSON.parse(JSON.stringify(rows)))).toEqual([]);
  });

  it('keeps every live seed sensitive and non-extractable in the HSM, and shreds destroyed ones', async () => {
    exportHsmEnvironment(config);
    const hsm = new Pkcs11Hsm({ modulePath: config.PKCS11_MODULE, tokenLabel: config.HSM_TOKEN_LABEL, pin: config.HSM_PIN });
    try {
      const seeds = await db.seed.findMany({ where: { keyringName: keyring } });
      expect(seeds.map((s) => s.state).sort()).toEqual(['active', 'deactivated']);
      for (const seed of seeds) {
        const key = await hsm.findSeed(seed.hsmLabel);
        expect(key).toEqual({ label: seed.hsmLabel, kcv: seed.kcv, sensitive: true, extractable: false });
      }
      const destroyed = await db.seed.findMany({ where: { state: 'destroyed' } });
      for (const seed of destroyed) expect(await hsm.findSeed(seed.hsmLabel)).toBeNull();
    } finally {
      await hsm.close();
    }
  });

  it('refuses to reveal a seed value even to a logged-in PKCS#11 session', () => {
    exportHsmEnvironment(config);
    const mod = graphene.Module.load(config.PKCS11_MODULE, 'probe');
    mod.initialize({ flags: 2 });
    try {
      const slots = mod.getSlots(true);
      let session: graphene.Session | null = null;
      for (let i = 0; i < slots.length; i++) {
        const slot = slots.items(i);
        if (slot.getToken().label.trim() === config.HSM_TOKEN_LABEL) session = slot.open(graphene.SessionFlag.SERIAL_SESSION);
      }
      expect(session).not.toBeNull();
      session!.login(config.HSM_PIN);
      const keys = session!.find({ class: graphene.ObjectClass.SECRET_KEY });
      expect(keys.length).toBeGreaterThan(0);
      const key = keys.items(0);
      expect(() => key.getAttribute({ value: null })).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
      session!.logout();
      session!.close();
    } finally {
      mod.finalize();
    }
  });
});
