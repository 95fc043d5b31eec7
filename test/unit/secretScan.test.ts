import { randomBytes, randomUUID } from 'node:crypto';
import { scanValue } from '../support/secretScan';

// The scan guards the integration tests; it must itself be shown to catch what it looks for.
describe('secret scan heuristics', () => {
  it('flags 32 random bytes in hex, base64 and base64url, and a field named value', () => {
    const key = randomBytes(32);
    expect(scanValue('t', { a: key.toString('hex') })).toHaveLength(1);
    expect(scanValue('t', { a: `prefix ${key.toString('base64')} suffix` })).toHaveLength(1);
    expect(scanValue('t', { a: key.toString('base64url') })).toHaveLength(1);
    expect(scanValue('t', { value: 'x' })[0]?.reason).toBe('field named "value"');
    expect(scanValue('t', [key])).toHaveLength(1);
  });

  it('leaves ids, versions, KCVs, HSM labels and timestamps alone', () => {
    const id = randomUUID();
    const payload = { seedId: id, keyring: 'patients', version: 3, kcv: 'a1b2c3', hsmLabel: `seed:patients:v3:${id}`, occurredAt: new Date().toISOString() };
    expect(scanValue('t', payload)).toEqual([]);
  });
});
