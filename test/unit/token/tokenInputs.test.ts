import { InputTag, checkInput, encodeInput, fingerprintInput, tokenInput, vaultAad } from '../../../domain/tokenInputs';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const u32 = (n: number): string => n.toString(16).padStart(8, '0');
const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
const lp = (s: string): string => u32(Buffer.byteLength(s)) + utf8(s);

describe('token inputs', () => {
  it('lays out the deterministic token input as length-prefixed tag, keyring, field, value', () => {
    expect(hex(tokenInput('patients', 'nombre', 'JOSE PENA'))).toBe(lp('saludtech/token/v1') + lp('patients') + lp('nombre') + lp('JOSE PENA'));
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(hex(encodeInput(InputTag.Token, ['Ñ']))).toBe(lp('saludtech/token/v1') + '00000002' + 'c391');
    expect(hex(encodeInput(InputTag.Token, ['Ñ😀', 'x']))).toBe(lp('saludtech/token/v1') + '00000006' + 'c391f09f9880' + lp('x'));
  });

  it('lays out the check input with the decimal version and the raw body bytes', () => {
    const body = new Uint8Array(24).fill(0xab);
    expect(hex(checkInput('patients', 12, body))).toBe(lp('saludtech/check/v1') + lp('patients') + lp('12') + u32(24) + 'ab'.repeat(24));
  });

  it('binds keyring, version and token into the vault AAD', () => {
    expect(hex(vaultAad('patients', 3, 'tk_v3_x'))).toBe(lp('saludtech/vault-aad/v1') + lp('patients') + lp('3') + lp('tk_v3_x'));
  });

  it('is unambiguous where plain concatenation is not', () => {
    expect(hex(tokenInput('k', 'ab', 'c'))).not.toBe(hex(tokenInput('k', 'a', 'bc')));
    expect(hex(tokenInput('ab', 'c', 'v'))).not.toBe(hex(tokenInput('a', 'bc', 'v')));
    expect(hex(tokenInput('k', 'f|x', 'v'))).not.toBe(hex(tokenInput('k', 'f', 'x|v')));
    expect(hex(tokenInput('k', 'f', ''))).not.toBe(hex(tokenInput('k', '', 'f')));
    expect(hex(vaultAad('a', 12, 't'))).not.toBe(hex(vaultAad('a1', 2, 't')));
  });

  it('separates kinds of input by tag even for identical parts', () => {
    const inputs = [tokenInput('k', 'f', 'v'), fingerprintInput('k', 'f', 'v'), encodeInput(InputTag.Check, ['k', 'f', 'v']), encodeInput(InputTag.VaultAad, ['k', 'f', 'v'])];
    expect(new Set(inputs.map(hex)).size).toBe(inputs.length);
  });
});
