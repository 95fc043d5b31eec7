import { createHmac } from 'node:crypto';
import { InMemoryTokenCrypto } from '../../../adapters/crypto/inMemoryTokenCrypto';
import { SealedValueRejectedError, WorkingKeysZeroizedError, type WorkingKeys } from '../../../domain/keyPorts';

const keysOf = (fill: number): WorkingKeys => ({
  tokenHmac: Buffer.alloc(32, fill),
  fingerprintHmac: Buffer.alloc(32, fill + 1),
  checkHmac: Buffer.alloc(32, fill + 2),
  vaultData: Buffer.alloc(32, fill + 3),
});
const bytes = (s: string) => new TextEncoder().encode(s);

describe('InMemoryTokenCrypto', () => {
  it('computes HMAC-SHA-256 under the key of each purpose', async () => {
    const keys = keysOf(1);
    const crypto = new InMemoryTokenCrypto(keysOf(1));
    const expected = (key: Uint8Array) => createHmac('sha256', key).update('input').digest('hex');
    expect(Buffer.from(await crypto.hmacToken(bytes('input'))).toString('hex')).toBe(expected(keys.tokenHmac));
    expect(Buffer.from(await crypto.hmacFingerprint(bytes('input'))).toString('hex')).toBe(expected(keys.fingerprintHmac));
    expect(Buffer.from(await crypto.hmacCheck(bytes('input'))).toString('hex')).toBe(expected(keys.checkHmac));
  });

  it('seals as iv ‖ ciphertext ‖ tag with a fresh IV each time, and opens only with the same AAD', async () => {
    const crypto = new InMemoryTokenCrypto(keysOf(1));
    const a = await crypto.encrypt(bytes('JOSE PENA'), bytes('aad'));
    const b = await crypto.encrypt(bytes('JOSE PENA'), bytes('aad'));
    expect(a).toHaveLength(12 + 9 + 16);
    expect(Buffer.from(a.subarray(0, 12)).equals(Buffer.from(b.subarray(0, 12)))).toBe(false);
    expect(new TextDecoder().decode(await crypto.decrypt(a, bytes('aad')))).toBe('JOSE PENA');
    await expect(crypto.decrypt(a, bytes('other aad'))).rejects.toBeInstanceOf(SealedValueRejectedError);
    const tampered = Buffer.from(a);
    tampered[14]! ^= 1;
    await expect(crypto.decrypt(tampered, bytes('aad'))).rejects.toBeInstanceOf(SealedValueRejectedError);
    await expect(crypto.decrypt(a.subarray(0, 20), bytes('aad'))).rejects.toBeInstanceOf(SealedValueRejectedError);
    await expect(new InMemoryTokenCrypto(keysOf(9)).decrypt(a, bytes('aad'))).rejects.toBeInstanceOf(SealedValueRejectedError);
  });

  it('zeroize() fills the key buffers it was given with zeros and refuses further use', async () => {
    const keys = keysOf(7);
    const crypto = new InMemoryTokenCrypto(keys);
    crypto.zeroize();
    for (const key of Object.values(keys)) expect(Buffer.from(key).equals(Buffer.alloc(32))).toBe(true);
    await expect(crypto.hmacToken(bytes('x'))).rejects.toBeInstanceOf(WorkingKeysZeroizedError);
    await expect(crypto.encrypt(bytes('x'), bytes('y'))).rejects.toBeInstanceOf(WorkingKeysZeroizedError);
    expect(() => crypto.zeroize()).not.toThrow();
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => new InMemoryTokenCrypto({ ...keysOf(1), checkHmac: Buffer.alloc(16) })).toThrow(/checkHmac/);
  });
});
