import { createHash } from 'node:crypto';
import { BOOTSTRAP_ADMIN, hashApiKey, issueApiKeySecret, parseAuthorization, parseNewApiKeyRequest } from '../../../domain/apiKeys';
import { InvalidInputError } from '../../../domain/errors';

describe('API key secrets', () => {
  const random = Uint8Array.from({ length: 32 }, (_, i) => i * 7);

  it('are stk_ followed by the base64url of 32 random bytes', () => {
    const { key } = issueApiKeySecret(random);
    expect(key).toMatch(/^stk_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice(4), 'base64url')).toEqual(Buffer.from(random));
  });

  it('are stored as the hex SHA-256 of the whole secret, with a short non-secret prefix for display', () => {
    const issued = issueApiKeySecret(random);
    expect(issued.keyHash).toBe(createHash('sha256').update(issued.key).digest('hex'));
    expect(issued.keyHash).toBe(hashApiKey(issued.key));
    expect(issued.prefix).toBe(issued.key.slice(0, 12));
    expect(issued.prefix.length).toBeLessThan(issued.key.length / 3);
  });

  it('differ for different random bytes, and refuse anything but 32 bytes', () => {
    const other = Uint8Array.from(random, (b) => b ^ 1);
    expect(issueApiKeySecret(other).key).not.toBe(issueApiKeySecret(random).key);
    expect(() => issueApiKeySecret(new Uint8Array(16))).toThrow(RangeError);
  });

  it('the bootstrap admin is admin of every keyring', () => {
    expect(BOOTSTRAP_ADMIN).toEqual({ keyId: 'bootstrap-admin', name: expect.any(String), scopes: ['admin'], keyrings: ['*'] });
  });
});

describe('parseAuthorization', () => {
  it.each([
    [undefined, { kind: 'missing' }],
    ['', { kind: 'missing' }],
    ['Bearer stk_abc', { kind: 'bearer', secret: 'stk_abc' }],
    ['bearer stk_abc', { kind: 'bearer', secret: 'stk_abc' }],
    ['Basic dXNlcjpwdw==', { kind: 'malformed' }],
    ['Bearer', { kind: 'malformed' }],
    ['Bearer a b', { kind: 'malformed' }],
    ['Bearer ' + 'a'.repeat(257), { kind: 'malformed' }],
    ['stk_abc', { kind: 'malformed' }],
  ])('%j → %j', (header, expected) => {
    expect(parseAuthorization(header)).toEqual(expected);
  });
});

describe('parseNewApiKeyRequest', () => {
  const valid = { name: 'research export', scopes: ['tokenize'], keyrings: ['patients'] };

  it('accepts a valid request, trimming the name and dropping duplicates', () => {
    expect(parseNewApiKeyRequest({ name: ' ops ', scopes: ['tokenize', 'tokenize', 'detokenize'], keyrings: ['patients', 'patients'] })).toEqual({
      name: 'ops',
      scopes: ['tokenize', 'detokenize'],
      keyrings: ['patients'],
    });
    expect(parseNewApiKeyRequest({ ...valid, keyrings: ['*'] }).keyrings).toEqual(['*']);
  });

  it.each([
    ['no body', undefined, 'invalid_body'],
    ['an array', [], 'invalid_body'],
    ['unknown fields', { ...valid, admin: true }, 'unknown_fields'],
    ['no name', { scopes: ['tokenize'], keyrings: ['patients'] }, 'invalid_name'],
    ['an empty name', { ...valid, name: '   ' }, 'invalid_name'],
    ['a 101-character name', { ...valid, name: 'n'.repeat(101) }, 'invalid_name'],
    ['a name with a newline', { ...valid, name: 'a\nb' }, 'invalid_name'],
    ['an unknown scope', { ...valid, scopes: ['root'] }, 'invalid_scopes'],
    ['no scopes', { ...valid, scopes: [] }, 'invalid_scopes'],
    ['scopes as a string', { ...valid, scopes: 'admin' }, 'invalid_scopes'],
    ['a bad keyring name', { ...valid, keyrings: ['Patients'] }, 'invalid_keyrings'],
    ['no keyrings', { ...valid, keyrings: [] }, 'invalid_keyrings'],
    ['"*" mixed with names', { ...valid, keyrings: ['*', 'patients'] }, 'invalid_keyrings'],
  ])('refuses %s', (_what, body, code) => {
    expect(() => parseNewApiKeyRequest(body)).toThrow(expect.objectContaining({ code }));
    expect(() => parseNewApiKeyRequest(body)).toThrow(InvalidInputError);
  });

  it('accepts a 100-character name', () => {
    expect(parseNewApiKeyRequest({ ...valid, name: 'n'.repeat(100) }).name).toHaveLength(100);
  });
});
