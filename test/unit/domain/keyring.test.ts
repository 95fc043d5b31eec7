import { InvalidInputError } from '../../../domain/errors';
import { assertKeyringName } from '../../../domain/keyring';

describe('keyring names', () => {
  it.each(['abc', 'patients', 'lab-results', 'tenant-42', 'a1b', `a${'b'.repeat(62)}c`])('accepts %s', (name) => {
    expect(assertKeyringName(name)).toBe(name);
  });

  it.each([
    ['too short', 'ab'],
    ['too long (65 characters)', `a${'b'.repeat(63)}c`],
    ['empty', ''],
    ['upper case', 'Patients'],
    ['starting with a digit', '1abc'],
    ['starting with a hyphen', '-abc'],
    ['ending with a hyphen', 'abc-'],
    ['an underscore', 'a_bc'],
    ['a dot', 'pat.ients'],
    ['a colon (it would break the HSM label)', 'pat:ients'],
    ['a space', 'pat ients'],
    ['non-ASCII letters', 'pacientés'],
    ['a trailing newline', 'patients\n'],
  ])('rejects a name with %s', (_why, name) => {
    expect(() => assertKeyringName(name)).toThrow(InvalidInputError);
  });

  it('explains the rule with a 400 and the code invalid_keyring_name', () => {
    let caught: unknown;
    try {
      assertKeyringName('Bad_Name');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as InvalidInputError).code).toBe('invalid_keyring_name');
    expect((caught as InvalidInputError).status).toBe(400);
    expect((caught as InvalidInputError).message).toMatch(/3-64 characters/);
  });
});
