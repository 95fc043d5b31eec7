import { ActiveSeeds } from '../../../tokenService/activeSeeds';

const v = (keyring: string, version: number) => ({ seedId: `${keyring}-${version}`, keyring, version });

describe('ActiveSeeds', () => {
  it('knows no seed for a keyring it has not seen', () => {
    expect(new ActiveSeeds().get('patients')).toBeUndefined();
  });

  it('switches to a newer version', () => {
    const active = new ActiveSeeds([v('patients', 1)]);
    expect(active.activate(v('patients', 2))).toBe(true);
    expect(active.get('patients')).toEqual(v('patients', 2));
  });

  it('never moves back to an older version when events arrive out of order', () => {
    const active = new ActiveSeeds();
    active.activate(v('patients', 3));
    expect(active.activate(v('patients', 2))).toBe(false);
    expect(active.get('patients')).toEqual(v('patients', 3));
  });

  it('treats a redelivered activation of the current version as no change', () => {
    const active = new ActiveSeeds([v('patients', 2)]);
    expect(active.activate(v('patients', 2))).toBe(false);
    expect(active.get('patients')).toEqual(v('patients', 2));
  });

  it('keeps each keyring on its own version', () => {
    const active = new ActiveSeeds([v('patients', 4), v('labs', 1)]);
    active.activate(v('labs', 2));
    expect(active.get('patients')?.version).toBe(4);
    expect(active.get('labs')?.version).toBe(2);
  });

  it('starts from the highest version whatever the order of the initial list', () => {
    const active = new ActiveSeeds([v('patients', 5), v('patients', 2), v('patients', 4)]);
    expect(active.get('patients')?.version).toBe(5);
  });
});
