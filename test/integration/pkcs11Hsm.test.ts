import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { Pkcs11Hsm } from '../../adapters/hsm/pkcs11Hsm';
import { exportHsmEnvironment, loadConfig } from '../../config/env';
import { ROOT } from '../support/services';

const config = loadConfig();
exportHsmEnvironment(config);
const hsmConfig = { modulePath: config.PKCS11_MODULE, tokenLabel: config.HSM_TOKEN_LABEL, pin: config.HSM_PIN };

describe('PKCS#11 HSM adapter (SoftHSM2)', () => {
  let hsm: Pkcs11Hsm;
  beforeAll(() => {
    hsm = new Pkcs11Hsm(hsmConfig);
  });
  afterAll(async () => {
    await hsm.close();
  });

  it('generates a sensitive, non-extractable seed with a 3-byte KCV, once per label', async () => {
    const label = `test:${randomUUID()}`;
    const first = await hsm.generateSeed(label);
    expect(first).toEqual({ label, kcv: expect.stringMatching(/^[0-9a-f]{6}$/), sensitive: true, extractable: false });
    expect(await hsm.generateSeed(label)).toEqual(first);
    expect(await hsm.findSeed(label)).toEqual(first);
    expect(await hsm.destroySeed(label)).toBe(true);
  });

  it('gives different seeds different KCVs', async () => {
    const labels = [`test:${randomUUID()}`, `test:${randomUUID()}`];
    const [a, b] = await Promise.all(labels.map((l) => hsm.generateSeed(l)));
    expect(a!.kcv).not.toBe(b!.kcv);
    await Promise.all(labels.map((l) => hsm.destroySeed(l)));
  });

  it('destroys idempotently and finds nothing afterwards', async () => {
    const label = `test:${randomUUID()}`;
    await hsm.generateSeed(label);
    expect(await hsm.destroySeed(label)).toBe(true);
    expect(await hsm.destroySeed(label)).toBe(false);
    expect(await hsm.findSeed(label)).toBeNull();
  });

  it('sees a key that another process created, with the same KCV', async () => {
    const label = `test:${randomUUID()}`;
    const script = `
      const { Pkcs11Hsm } = require('./adapters/hsm/pkcs11Hsm');
      const h = new Pkcs11Hsm(${JSON.stringify(hsmConfig)});
      h.generateSeed(${JSON.stringify(label)}).then((k) => { process.stdout.write(k.kcv); return h.close(); });`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env: process.env, encoding: 'utf8', timeout: 60_000 });
    expect(child.status).toBe(0);
    const found = await hsm.findSeed(label);
    expect(found?.kcv).toBe(child.stdout.trim());
    await hsm.destroySeed(label);
  });

  it('reports a wrong PIN as a configuration error that names the setting to fix', () => {
    // Login is per process in PKCS#11, so the wrong PIN must be tried by a process of its own.
    const script = `
      const { Pkcs11Hsm } = require('./adapters/hsm/pkcs11Hsm');
      const h = new Pkcs11Hsm(${JSON.stringify({ ...hsmConfig, pin: 'wrong-pin' })});
      h.findSeed('any').then(() => process.exit(3), (e) => { process.stdout.write(e.name + ': ' + e.message); return h.close(); });`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env: process.env, encoding: 'utf8', timeout: 60_000 });
    expect(child.status).toBe(0);
    expect(child.stdout).toMatch(/^HsmConfigurationError: .*CKR_PIN_INCORRECT.*HSM_PIN/);
  });

  it('reports an unknown token label as a configuration error', async () => {
    const other = new Pkcs11Hsm({ ...hsmConfig, tokenLabel: 'no-such-token' });
    try {
      await expect(other.findSeed('any')).rejects.toThrow(/No PKCS#11 token labelled "no-such-token"/);
    } finally {
      await other.close();
    }
  });

  it('refuses a missing PKCS#11 library with a clear error', () => {
    expect(() => new Pkcs11Hsm({ ...hsmConfig, modulePath: '/nonexistent/libpkcs11.so' })).toThrow(/PKCS11_MODULE/);
  });
});
