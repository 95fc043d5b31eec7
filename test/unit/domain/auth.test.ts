import { isAllowed, SCOPES, type Principal, type Scope } from '../../../domain/auth';

const principal = (scopes: Scope[], keyrings: string[]): Principal => ({ keyId: 'k', name: 'k', scopes, keyrings });

describe('isAllowed', () => {
  // [key scopes, key keyrings, wanted scope, keyring, allowed]
  const matrix: Array<[Scope[], string[], Scope, string | undefined, boolean]> = [
    [['tokenize'], ['patients'], 'tokenize', 'patients', true],
    [['tokenize'], ['patients'], 'tokenize', 'labs', false],
    [['tokenize'], ['patients'], 'detokenize', 'patients', false],
    [['tokenize'], ['patients'], 'admin', 'patients', false],
    [['tokenize'], ['*'], 'tokenize', 'labs', true],
    [['detokenize'], ['patients'], 'detokenize', 'patients', true],
    [['detokenize'], ['patients'], 'tokenize', 'patients', false],
    [['tokenize', 'detokenize'], ['patients', 'labs'], 'detokenize', 'labs', true],
    [['admin'], ['patients'], 'tokenize', 'patients', true],
    [['admin'], ['patients'], 'detokenize', 'patients', true],
    [['admin'], ['patients'], 'admin', 'patients', true],
    [['admin'], ['patients'], 'admin', 'labs', false],
    [['admin'], ['patients'], 'admin', '*', false],
    [['admin'], ['*'], 'admin', '*', true],
    [['admin'], ['*'], 'detokenize', 'anything', true],
    [['tokenize'], ['patients'], 'tokenize', undefined, true],
    [['tokenize'], ['patients'], 'admin', undefined, false],
    [[], ['*'], 'tokenize', 'patients', false],
    [['tokenize'], [], 'tokenize', 'patients', false],
  ];

  it.each(matrix)('scopes %j on %j: %s on %s → %s', (scopes, keyrings, scope, keyring, allowed) => {
    expect(isAllowed(principal(scopes, keyrings), scope, keyring)).toBe(allowed);
  });

  it('lets admin imply every scope', () => {
    for (const scope of SCOPES) expect(isAllowed(principal(['admin'], ['patients']), scope, 'patients')).toBe(true);
  });
});
