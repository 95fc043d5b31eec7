import { createCipheriv, createHmac } from 'node:crypto';
import { DERIVATION_IV, KEY_HIERARCHY_VERSION, KEY_PURPOSES, KeyPurpose, derivationData, workingKeyKind } from '../../../domain/keyHierarchy';

describe('key hierarchy', () => {
  it('has four purposes: three HMAC keys and one AES vault key', () => {
    expect(KEY_PURPOSES).toEqual(['token-hmac', 'fingerprint-hmac', 'check-hmac', 'vault-aes-gcm']);
    expect(KEY_PURPOSES.map(workingKeyKind)).toEqual(['hmac', 'hmac', 'hmac', 'aes']);
  });

  it('builds 32 bytes of derivation data: the purpose in block 1, the hierarchy version in block 2', () => {
    const data = derivationData(KeyPurpose.TokenHmac);
    expect(data).toHaveLength(32);
    expect(Buffer.from(data.subarray(0, 16)).toString('hex')).toBe(Buffer.concat([Buffer.from('token-hmac'), Buffer.alloc(6)]).toString('hex'));
    expect(Buffer.from(data.subarray(16)).toString()).toBe(KEY_HIERARCHY_VERSION);
    expect(DERIVATION_IV).toEqual(new Uint8Array(16));
  });

  it('gives every purpose a distinct first block, so no two working keys share a cipher block', () => {
    const firstBlocks = KEY_PURPOSES.map((p) => Buffer.from(derivationData(p).subarray(0, 16)).toString('hex'));
    expect(new Set(firstBlocks).size).toBe(KEY_PURPOSES.length);
  });

  it('yields unrelated keys per purpose for one seed (AES-CBC-ENCRYPT-DATA computed in software)', () => {
    const seed = Buffer.alloc(32, 1);
    const derive = (p: KeyPurpose) => {
      const c = createCipheriv('aes-256-cbc', seed, DERIVATION_IV).setAutoPadding(false);
      return Buffer.concat([c.update(derivationData(p)), c.final()]);
    };
    const keys = KEY_PURPOSES.map(derive);
    expect(new Set(keys.map((k) => k.toString('hex'))).size).toBe(4);
    expect(new Set(keys.flatMap((k) => [k.subarray(0, 16).toString('hex'), k.subarray(16).toString('hex')])).size).toBe(8);
    expect(createHmac('sha256', keys[0]!).update('x').digest('hex')).not.toBe(createHmac('sha256', keys[1]!).update('x').digest('hex'));
  });
});
