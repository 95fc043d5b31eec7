import { InMemoryTokenCrypto } from '../../../adapters/crypto/inMemoryTokenCrypto';
import { SealedValueRejectedError, type RandomSource, type WorkingKeys } from '../../../domain/keyPorts';
import {
  MAX_TOKEN_LENGTH,
  fingerprint,
  formatToken,
  hasValidCheck,
  issueDeterministicToken,
  issueRandomToken,
  openValue,
  parseToken,
  sealValue,
  type ParsedToken,
} from '../../../domain/token';

const keysOf = (fill: number): WorkingKeys => ({
  tokenHmac: Buffer.alloc(32, fill),
  fingerprintHmac: Buffer.alloc(32, fill + 1),
  checkHmac: Buffer.alloc(32, fill + 2),
  vaultData: Buffer.alloc(32, fill + 3),
});
/** Stands for one keyring's seed version: different fill, different seed. */
const seedA1 = new InMemoryTokenCrypto(keysOf(1));
const seedA2 = new InMemoryTokenCrypto(keysOf(20));
const seedB1 = new InMemoryTokenCrypto(keysOf(40));
const counter = (): RandomSource => {
  let n = 0;
  return { bytes: (len) => new Uint8Array(len).fill(++n) };
};
const TOKEN = /^tk_v[1-9][0-9]*_[A-Za-z0-9_-]{32}_[A-Za-z0-9_-]{8}$/;

function parsed(token: string): ParsedToken {
  const r = parseToken(token);
  if (!r.ok) throw new Error(`not a token: ${r.message}`);
  return r.token;
}

describe('token format', () => {
  it('formats version, 24-byte body and 6-byte check as tk_v<version>_<32 chars>_<8 chars>', () => {
    const token = formatToken({ version: 3, body: new Uint8Array(24).fill(0xff), check: new Uint8Array(6) });
    expect(token).toBe(`tk_v3_${'_'.repeat(32)}_AAAAAAAA`);
    expect(encodeURIComponent(token)).toBe(token);
  });

  it('round-trips through parseToken, even when the body contains _ and -', () => {
    const token: ParsedToken = { version: 123456789, body: new Uint8Array(24).map((_, i) => (i * 37) ^ 0xfb), check: new Uint8Array([0xff, 0xfe, 0x00, 0x3e, 0x3f, 0x80]) };
    const text = formatToken(token);
    expect(text.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(parseToken(text)).toEqual({ ok: true, token });
  });

  it.each([
    ['empty', ''],
    ['no prefix', 'v3_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_AAAAAAAA'],
    ['upper-case prefix', 'TK_v3_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_AAAAAAAA'],
    ['version 0', 'tk_v0_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_AAAAAAAA'],
    ['leading zero', 'tk_v03_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_AAAAAAAA'],
    ['ten-digit version', 'tk_v1234567890_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_AAAAAAAA'],
    ['short body', 'tk_v3_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_AAAAAAAA'],
    ['long check', 'tk_v3_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_AAAAAAAAA'],
    ['standard base64 characters', 'tk_v3_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+/_AAAAAAAA'],
    ['padding', 'tk_v3_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=_AAAAAAAA'],
    ['surrounding space', ' tk_v3_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_AAAAAAAA'],
    ['trailing newline', 'tk_v3_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_AAAAAAAA\n'],
  ])('rejects a token with %s as invalid_token_format', (_why, text) => {
    expect(parseToken(text)).toEqual({ ok: false, code: 'invalid_token_format', message: expect.any(String) });
  });

  it('rejects non-strings and never echoes the input', () => {
    for (const input of [undefined, null, 42, {}, ['tk_v1']]) expect(parseToken(input)).toMatchObject({ ok: false, code: 'invalid_token_format' });
    const r = parseToken('JOSE PENA 12345678');
    expect(!r.ok && r.message).not.toMatch(/JOSE|12345678/);
  });

  it('refuses to format out-of-range parts', () => {
    expect(() => formatToken({ version: 0, body: new Uint8Array(24), check: new Uint8Array(6) })).toThrow(RangeError);
    expect(() => formatToken({ version: 1, body: new Uint8Array(23), check: new Uint8Array(6) })).toThrow(RangeError);
    expect(() => formatToken({ version: 1, body: new Uint8Array(24), check: new Uint8Array(7) })).toThrow(RangeError);
  });
});

describe('issuing and checking tokens', () => {
  const patients1 = { keyring: 'patients', version: 1 };

  it('gives the same value the same deterministic token, and embeds the version', async () => {
    const a = await issueDeterministicToken(seedA1, patients1, 'nombre', 'JOSE PENA');
    expect(a).toMatch(TOKEN);
    expect(a.startsWith('tk_v1_')).toBe(true);
    expect(await issueDeterministicToken(seedA1, patients1, 'nombre', 'JOSE PENA')).toBe(a);
  });

  it('separates fields, keyrings, values and seeds', async () => {
    const base = await issueDeterministicToken(seedA1, patients1, 'id_paciente', 'HC-1');
    const others = [
      await issueDeterministicToken(seedA1, patients1, 'documento_id', 'HC-1'),
      await issueDeterministicToken(seedA1, { keyring: 'trials', version: 1 }, 'id_paciente', 'HC-1'),
      await issueDeterministicToken(seedA1, patients1, 'id_paciente', 'HC-2'),
      await issueDeterministicToken(seedA2, { keyring: 'patients', version: 2 }, 'id_paciente', 'HC-1'),
    ];
    const bodies = [base, ...others].map((t) => Buffer.from(parsed(t).body).toString('hex'));
    expect(new Set(bodies).size).toBe(bodies.length);
  });

  it('issues random tokens from the random source, never repeating for the same value', async () => {
    const random = counter();
    const a = await issueRandomToken(seedA1, random, patients1);
    const b = await issueRandomToken(seedA1, random, patients1);
    expect(a).not.toBe(b);
    expect(parsed(a).body).toEqual(new Uint8Array(24).fill(1));
    expect(await hasValidCheck(seedA1, 'patients', parsed(a))).toBe(true);
  });

  it('verifies a genuine token under its own keyring and version', async () => {
    const token = await issueDeterministicToken(seedA1, patients1, 'nombre', 'JOSE PENA');
    expect(await hasValidCheck(seedA1, 'patients', parsed(token))).toBe(true);
  });

  it('fails the check when the token is shown to another keyring, version or seed', async () => {
    const token = parsed(await issueDeterministicToken(seedA1, patients1, 'nombre', 'JOSE PENA'));
    expect(await hasValidCheck(seedA1, 'trials', token)).toBe(false); // same key material, other keyring name
    expect(await hasValidCheck(seedB1, 'trials', token)).toBe(false); // the other keyring's own key
    expect(await hasValidCheck(seedA1, 'patients', { ...token, version: 2 })).toBe(false); // version relabelled
    expect(await hasValidCheck(seedA2, 'patients', { ...token, version: 2 })).toBe(false);
  });

  it('detects any single changed character', async () => {
    const token = await issueDeterministicToken(seedA1, patients1, 'nombre', 'JOSE PENA');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let checked = 0;
    for (let i = 'tk_v1_'.length; i < token.length; i++) {
      if (i === 'tk_v1_'.length + 32) continue; // the separator
      const replacement = alphabet[(alphabet.indexOf(token[i]!) + 1) % alphabet.length]!;
      const r = parseToken(token.slice(0, i) + replacement + token.slice(i + 1));
      expect(r.ok).toBe(true);
      if (r.ok) expect(await hasValidCheck(seedA1, 'patients', r.token)).toBe(false);
      checked++;
    }
    expect(checked).toBe(40);
  });

  it('computes a 32-byte fingerprint that depends on keyring, field and value', async () => {
    const f = await fingerprint(seedA1, 'patients', 'nombre', 'JOSE PENA');
    expect(f).toHaveLength(32);
    expect(await fingerprint(seedA1, 'patients', 'nombre', 'JOSE PENA')).toEqual(f);
    expect(await fingerprint(seedA1, 'patients', 'direccion', 'JOSE PENA')).not.toEqual(f);
    expect(await fingerprint(seedA1, 'trials', 'nombre', 'JOSE PENA')).not.toEqual(f);
    // Fingerprint and token body use different keys and tags: one never reveals the other.
    const body = parsed(await issueDeterministicToken(seedA1, patients1, 'nombre', 'JOSE PENA')).body;
    expect(Buffer.from(f.subarray(0, 24)).equals(Buffer.from(body))).toBe(false);
  });

  it('opens a sealed value only for the keyring, version and token it was sealed for', async () => {
    const token = await issueDeterministicToken(seedA1, patients1, 'nombre', 'JOSÉ PEÑA');
    const sealed = await sealValue(seedA1, patients1, token, 'JOSÉ PEÑA');
    expect(await openValue(seedA1, patients1, token, sealed)).toBe('JOSÉ PEÑA');
    const other = await issueDeterministicToken(seedA1, patients1, 'nombre', 'ANA');
    await expect(openValue(seedA1, patients1, other, sealed)).rejects.toBeInstanceOf(SealedValueRejectedError);
    await expect(openValue(seedA1, { keyring: 'trials', version: 1 }, token, sealed)).rejects.toBeInstanceOf(SealedValueRejectedError);
    await expect(openValue(seedA1, { keyring: 'patients', version: 2 }, token, sealed)).rejects.toBeInstanceOf(SealedValueRejectedError);
  });
});
