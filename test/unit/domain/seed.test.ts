import { IllegalSeedTransitionError } from '../../../domain/errors';
import { assertTransition, canTransition, KCV_PATTERN, seedHsmLabel, seedWorkflowId, SeedState } from '../../../domain/seed';

const ALL_STATES = Object.values(SeedState);

/** NIST SP 800-57 lifecycle as DESIGN.md states it; written out here so the table in domain/seed.ts is checked, not copied. */
const LEGAL: [SeedState, SeedState][] = [
  ['pre_active', 'active'],
  ['pre_active', 'compromised'],
  ['pre_active', 'destroyed'],
  ['active', 'deactivated'],
  ['active', 'suspended'],
  ['active', 'compromised'],
  ['suspended', 'active'],
  ['suspended', 'deactivated'],
  ['suspended', 'compromised'],
  ['deactivated', 'destroyed'],
  ['deactivated', 'compromised'],
  ['compromised', 'destroyed'],
];
const isLegal = (from: SeedState, to: SeedState) => LEGAL.some(([f, t]) => f === from && t === to);
const ILLEGAL = ALL_STATES.flatMap((from) => ALL_STATES.filter((to) => !isLegal(from, to)).map((to) => [from, to] as [SeedState, SeedState]));

describe('seed state transitions', () => {
  it('knows the six NIST states', () => {
    expect([...ALL_STATES].sort()).toEqual(['active', 'compromised', 'deactivated', 'destroyed', 'pre_active', 'suspended']);
  });

  it.each(LEGAL)('allows %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it.each(ILLEGAL)('forbids %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    expect(() => assertTransition(from, to)).toThrow(IllegalSeedTransitionError);
  });

  it('treats destroyed as terminal', () => {
    expect(ALL_STATES.filter((to) => canTransition('destroyed', to))).toEqual([]);
  });

  it('never lets a deactivated seed issue tokens again', () => {
    expect(canTransition('deactivated', 'active')).toBe(false);
  });

  it('refuses to destroy an active seed without deactivating it first', () => {
    expect(canTransition('active', 'destroyed')).toBe(false);
  });

  it('reports an illegal transition as a 409 with a stable code naming both states', () => {
    let caught: unknown;
    try {
      assertTransition('destroyed', 'active');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(IllegalSeedTransitionError);
    const err = caught as IllegalSeedTransitionError;
    expect(err.name).toBe('IllegalSeedTransitionError');
    expect(err.code).toBe('illegal_seed_transition');
    expect(err.status).toBe(409);
    expect(err.message).toContain('destroyed');
    expect(err.message).toContain('active');
  });
});

describe('seed identifiers', () => {
  const ref = { seedId: '6f1c1c5e-7f36-4b43-9b8e-0d7f1f0a2b11', keyring: 'patients', version: 3 };

  it('names the lifecycle workflow after keyring and version, readable in the Temporal UI', () => {
    expect(seedWorkflowId('patients', 3)).toBe('seed-patients-v3');
    expect(seedWorkflowId('lab-results', 12)).toBe('seed-lab-results-v12');
  });

  it('labels the HSM key with keyring, version and seed id', () => {
    expect(seedHsmLabel(ref)).toBe('seed:patients:v3:6f1c1c5e-7f36-4b43-9b8e-0d7f1f0a2b11');
  });

  it('gives two seeds of the same keyring version different HSM labels, so a retry never adopts another seed’s key', () => {
    const other = { ...ref, seedId: '0b8a7c3e-1111-4222-8333-444455556666' };
    expect(seedHsmLabel(other)).not.toBe(seedHsmLabel(ref));
    expect(seedHsmLabel({ ...ref })).toBe(seedHsmLabel(ref));
  });

  it('accepts only 6 lower-case hex digits as a KCV', () => {
    expect(KCV_PATTERN.test('a1b2c3')).toBe(true);
    for (const bad of ['A1B2C3', 'a1b2c', 'a1b2c3d', 'g1b2c3', '', ' a1b2c']) expect(KCV_PATTERN.test(bad)).toBe(false);
  });
});
