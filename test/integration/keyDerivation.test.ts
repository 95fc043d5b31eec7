import { randomUUID } from 'node:crypto';
import { InMemoryTokenCrypto } from '../../adapters/crypto/inMemoryTokenCrypto';
import { nodeRandom } from '../../adapters/crypto/nodeRandom';
import { Pkcs11Hsm } from '../../adapters/hsm/pkcs11Hsm';
import { Pkcs11KeyDerivation, type Pkcs11TokenCrypto } from '../../adapters/hsm/pkcs11KeyDerivation';
import { SeedNotInHsmError, WorkingKeysZeroizedError, type TokenCrypto, type WorkingKeys } from '../../domain/keyPorts';
import { fingerprint, hasValidCheck, issueDeterministicToken, issueRandomToken, openValue, parseToken, sealValue } from '../../domain/token';
import { exportHsmEnvironment, loadConfig } from '../../config/env';

const config = loadConfig();
exportHsmEnvironment(config);
const hsmConfig = { modulePath: config.PKCS11_MODULE, tokenLabel: config.HSM_TOKEN_LABEL, pin: config.HSM_PIN };
const scope = { keyring: 'patients', version: 1 };
const VALUES: Array<[string, string]> = [
  ['documento_id', '12345678'],
  ['nombre', 'JOSE PENA'],
  ['fecha_nacimiento', '1980-03-05'],
  ['direccion', 'CALLE 45 # 12-30, BOGOTA'],
];

async function tokensOf(crypto: TokenCrypto): Promise<string[]> {
  return Promise.all(VALUES.map(([field, value]) => issueDeterministicToken(crypto, scope, field, value)));
}

async function fingerprintsOf(crypto: TokenCrypto): Promise<string[]> {
  return Promise.all(VALUES.map(async ([field, value]) => Buffer.from(await fingerprint(crypto, scope.keyring, field, value)).toString('hex')));
}

describe('working keys derived from a seed in SoftHSM', () => {
  let hsm: Pkcs11Hsm;
  let derivation: Pkcs11KeyDerivation;
  const seeds = [`test:kd:${randomUUID()}`, `test:kd:${randomUUID()}`];
  const [seedA, seedB] = seeds as [string, string];
  let inHsmA: Pkcs11TokenCrypto;
  let exportedA: WorkingKeys;
  let inMemoryA: InMemoryTokenCrypto;

  beforeAll(async () => {
    hsm = new Pkcs11Hsm(hsmConfig);
    derivation = new Pkcs11KeyDerivation(hsmConfig);
    for (const label of seeds) await hsm.generateSeed(label);
    inHsmA = await derivation.deriveInHsm(seedA);
    exportedA = await derivation.exportWorkingKeys(seedA);
    inMemoryA = new InMemoryTokenCrypto(exportedA);
  });

  afterAll(async () => {
    inHsmA?.zeroize();
    inMemoryA?.zeroize();
    for (const label of seeds) await hsm?.destroySeed(label);
    await derivation?.close();
    await hsm?.close();
  });

  it('gives identical tokens and fingerprints in both strategies (the derivation is the same)', async () => {
    const tokens = await tokensOf(inHsmA);
    expect(await tokensOf(inMemoryA)).toEqual(tokens);
    expect(await fingerprintsOf(inMemoryA)).toEqual(await fingerprintsOf(inHsmA));
    for (const token of tokens) {
      const parsed = parseToken(token);
      expect(parsed.ok && (await hasValidCheck(inMemoryA, scope.keyring, parsed.token))).toBe(true);
      expect(parsed.ok && (await hasValidCheck(inHsmA, scope.keyring, parsed.token))).toBe(true);
    }
  });

  it('derives the same keys again from the same seed', async () => {
    const again = await derivation.deriveInHsm(seedA);
    try {
      expect(await tokensOf(again)).toEqual(await tokensOf(inHsmA));
    } finally {
      again.zeroize();
    }
  });

  it('gives a different seed different tokens, fingerprints and check keys', async () => {
    const inHsmB = await derivation.deriveInHsm(seedB);
    try {
      const tokensA = await tokensOf(inHsmA);
      const tokensB = await tokensOf(inHsmB);
      tokensB.forEach((t, i) => expect(t).not.toBe(tokensA[i]));
      expect(await fingerprintsOf(inHsmB)).not.toEqual(await fingerprintsOf(inHsmA));
      const parsed = parseToken(tokensA[0]);
      expect(parsed.ok && (await hasValidCheck(inHsmB, scope.keyring, parsed.token))).toBe(false);
    } finally {
      inHsmB.zeroize();
    }
  });

  it('seals with one strategy and opens with the other (AES-GCM ciphertext ‖ tag interoperates)', async () => {
    const token = await issueRandomToken(inHsmA, nodeRandom, scope);
    const byHsm = await sealValue(inHsmA, scope, token, 'JOSÉ PEÑA');
    const byMemory = await sealValue(inMemoryA, scope, token, 'JOSÉ PEÑA');
    expect(await openValue(inMemoryA, scope, token, byHsm)).toBe('JOSÉ PEÑA');
    expect(await openValue(inHsmA, scope, token, byMemory)).toBe('JOSÉ PEÑA');
    await expect(openValue(inHsmA, { ...scope, version: 2 }, token, byMemory)).rejects.toMatchObject({ code: 'sealed_value_rejected' });
    const tampered = Buffer.from(byHsm);
    tampered[tampered.length - 1]! ^= 1;
    await expect(openValue(inHsmA, scope, token, tampered)).rejects.toMatchObject({ code: 'sealed_value_rejected' });
  });

  it('keeps in-HSM working keys as sensitive, non-extractable session objects whose value the HSM refuses to reveal', () => {
    const attrs = inHsmA.describeKeys();
    expect(attrs.map((a) => a.purpose)).toEqual(['token-hmac', 'fingerprint-hmac', 'check-hmac', 'vault-aes-gcm']);
    for (const a of attrs) expect(a).toMatchObject({ token: false, sensitive: true, extractable: false, neverExtractable: true, valueReadable: false });
  });

  it('leaves the seed itself non-extractable after exporting working keys', async () => {
    expect(await hsm.findSeed(seedA)).toMatchObject({ sensitive: true, extractable: false });
  });

  it('zeroises in-memory keys: every buffer becomes zeros and the crypto refuses work', async () => {
    const keys = await derivation.exportWorkingKeys(seedB);
    const crypto = new InMemoryTokenCrypto(keys);
    const all = Object.values(keys) as Uint8Array[];
    expect(all.every((k) => k.some((b) => b !== 0))).toBe(true);
    crypto.zeroize();
    for (const key of all) expect(Buffer.from(key).equals(Buffer.alloc(32))).toBe(true);
    await expect(crypto.hmacToken(new Uint8Array(1))).rejects.toBeInstanceOf(WorkingKeysZeroizedError);
  });

  it('destroys in-HSM working keys on zeroize()', async () => {
    const crypto = await derivation.deriveInHsm(seedB);
    crypto.zeroize();
    await expect(crypto.hmacToken(new Uint8Array(1))).rejects.toBeInstanceOf(WorkingKeysZeroizedError);
  });

  it('reports a missing (destroyed) seed as SeedNotInHsmError', async () => {
    await expect(derivation.deriveInHsm(`test:kd:absent:${randomUUID()}`)).rejects.toBeInstanceOf(SeedNotInHsmError);
    await expect(derivation.exportWorkingKeys(`test:kd:absent:${randomUUID()}`)).rejects.toBeInstanceOf(SeedNotInHsmError);
  });
});
