import { SeedState } from '../../../domain/seed';
import { WorkingKeyCache } from '../../../tokenService/workingKeys';
import { FakeDerivation } from './tokenFakes';

const seed = (state: SeedState = SeedState.Active, seedId = 'seed-1') => ({ seedId, hsmLabel: `seed:patients:v1:${seedId}`, state });
const zeroized = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: 'working_keys_zeroized' });

describe('WorkingKeyCache', () => {
  it('derives a seed’s keys once, even for concurrent first uses', async () => {
    const derivation = new FakeDerivation();
    const cache = new WorkingKeyCache(derivation.derive);
    const [a, b] = await Promise.all([cache.forSeed(seed()), cache.forSeed(seed())]);
    expect(a).toBe(b);
    expect(await cache.forSeed(seed(SeedState.Deactivated))).toBe(a);
    expect(derivation.derived).toHaveLength(1);
  });

  it('never derives for a destroyed or compromised seed and zeroises keys it held', async () => {
    const derivation = new FakeDerivation();
    const cache = new WorkingKeyCache(derivation.derive);
    await expect(cache.forSeed(seed(SeedState.Destroyed, 'gone'))).rejects.toMatchObject({ code: 'seed_destroyed' });
    const held = await cache.forSeed(seed());
    await expect(cache.forSeed(seed(SeedState.Compromised))).rejects.toMatchObject({ code: 'seed_compromised' });
    await zeroized(held.hmacToken(new Uint8Array(1)));
    expect(derivation.derived).toEqual(['seed:patients:v1:seed-1']);
  });

  it('zeroises keys whose derivation finished after the seed was evicted', async () => {
    const derivation = new FakeDerivation();
    const cache = new WorkingKeyCache(derivation.derive);
    const pending = cache.forSeed(seed());
    cache.evict('seed-1');
    await expect(pending).rejects.toMatchObject({ code: 'seed_destroyed' });
    await zeroized(derivation.made[0]!.hmacToken(new Uint8Array(1)));
    expect(cache.held()).toEqual([]);
  });

  it('reconciles against the database and zeroises everything at shutdown', async () => {
    const derivation = new FakeDerivation();
    const cache = new WorkingKeyCache(derivation.derive);
    const [live, destroyed, missing] = await Promise.all(['a', 'b', 'c'].map((id) => cache.forSeed(seed(SeedState.Active, id))));
    const evicted = await cache.reconcile(async () => new Map([['a', SeedState.Deactivated], ['b', SeedState.Destroyed]]));
    expect(evicted.sort()).toEqual(['b', 'c']);
    await zeroized(destroyed!.hmacToken(new Uint8Array(1)));
    await zeroized(missing!.hmacToken(new Uint8Array(1)));
    await expect(live!.hmacToken(new Uint8Array(1))).resolves.toHaveLength(32);
    cache.zeroizeAll();
    await zeroized(live!.hmacToken(new Uint8Array(1)));
    await expect(cache.forSeed(seed(SeedState.Active, 'd'))).rejects.toThrow('closed');
  });
});
