import { nodeRandom } from '../../../adapters/crypto/nodeRandom';
import { SeedState } from '../../../domain/seed';
import { parseToken } from '../../../domain/token';
import type { DetokenizeOutcome, TokenizeOutcome } from '../../../domain/tokenPorts';
import { Tokenizer } from '../../../tokenService/tokenizer';
import { WorkingKeyCache } from '../../../tokenService/workingKeys';
import { silentLogger } from '../../support/fakes';
import { FakeDerivation, InMemoryVault } from './tokenFakes';

function setup() {
  const vault = new InMemoryVault();
  const derivation = new FakeDerivation();
  const keys = new WorkingKeyCache(derivation.derive);
  const tokens = new Tokenizer({ vault, keys, random: nodeRandom, logger: silentLogger(), clock: () => new Date('2026-01-15T12:00:00Z') });
  return { vault, derivation, keys, tokens };
}

function tokenOf(outcome: TokenizeOutcome | undefined): string {
  if (!outcome || !('token' in outcome)) throw new Error(`expected a token, got ${JSON.stringify(outcome)}`);
  return outcome.token;
}

function item(reference: string, field: string, value: string) {
  return { reference, field, value };
}

describe('Tokenizer.tokenize', () => {
  it('gives the same value the same token in a deterministic keyring, however it is written', async () => {
    const { vault, tokens } = setup();
    vault.addKeyring('patients', 'deterministic');
    vault.activateNew('patients');
    const first = await tokens.tokenize('patients', [item('a', 'nombre', 'José  Peña')]);
    const again = await tokens.tokenize('patients', [item('b', 'nombre', 'jose pena')]);
    expect(tokenOf(again[0])).toBe(tokenOf(first[0]));
    expect(tokenOf(first[0])).toMatch(/^tk_v1_/);
    expect(vault.rows).toHaveLength(1);
  });

  it('separates keys across keyrings and across fields', async () => {
    const { vault, tokens } = setup();
    for (const k of ['patients', 'trials']) {
      vault.addKeyring(k, 'deterministic');
      vault.activateNew(k);
    }
    const [a] = await tokens.tokenize('patients', [item('1', 'documento_id', 'AB12345')]);
    const [b] = await tokens.tokenize('trials', [item('1', 'documento_id', 'AB12345')]);
    const [c] = await tokens.tokenize('patients', [item('1', 'id_paciente', 'AB12345')]);
    expect(new Set([tokenOf(a), tokenOf(b), tokenOf(c)]).size).toBe(3);
  });

  it('returns the stored token for a value seen before in a random keyring, without a second row', async () => {
    const { vault, tokens } = setup();
    vault.addKeyring('patients', 'random');
    vault.activateNew('patients');
    const [first] = await tokens.tokenize('patients', [item('a', 'documento_id', '1.234.567')]);
    const [again] = await tokens.tokenize('patients', [item('b', 'documento_id', '1234567')]);
    const [other] = await tokens.tokenize('patients', [item('c', 'documento_id', '7654321')]);
    expect(tokenOf(again)).toBe(tokenOf(first));
    expect(tokenOf(other)).not.toBe(tokenOf(first));
    expect(vault.rows).toHaveLength(2);
  });

  it('answers bad items with per-item errors and still tokenizes the others', async () => {
    const { vault, tokens } = setup();
    vault.addKeyring('patients', 'deterministic');
    vault.activateNew('patients');
    const out = await tokens.tokenize('patients', [
      item('ok', 'fecha_nacimiento', '03/02/1980'),
      item('field', 'email', 'x@example.org'),
      item('date', 'fecha_nacimiento', '31/02/1980'),
      item('future', 'fecha_nacimiento', '2030-01-01'),
      item('empty', 'nombre', '   '),
    ]);
    expect(tokenOf(out[0])).toMatch(/^tk_v1_/);
    expect(out.slice(1).map((o) => ('error' in o ? o.error.code : 'token'))).toEqual(['unknown_field', 'invalid_date', 'date_out_of_range', 'empty_value']);
    expect(JSON.stringify(out)).not.toContain('x@example.org');
    expect(vault.rows).toHaveLength(1);
  });

  it('writes one row for a value repeated inside a batch and answers every reference', async () => {
    for (const mode of ['deterministic', 'random'] as const) {
      const { vault, tokens } = setup();
      vault.addKeyring('patients', mode);
      vault.activateNew('patients');
      const out = await tokens.tokenize('patients', [item('1', 'nombre', 'Ana Ruiz'), item('2', 'nombre', 'ANA RUIZ'), item('3', 'nombre', 'Ana  Ruiz'), item('4', 'direccion', 'Ana Ruiz')]);
      expect(out.map((o) => o.reference)).toEqual(['1', '2', '3', '4']);
      expect(new Set(out.slice(0, 3).map(tokenOf)).size).toBe(1);
      expect(tokenOf(out[3])).not.toBe(tokenOf(out[0]));
      expect(vault.rows).toHaveLength(2);
      expect(vault.insertCalls).toBe(1);
    }
  });

  it('refuses a keyring without an active seed, without a mode, or unknown', async () => {
    const { vault, tokens } = setup();
    vault.addKeyring('nomode');
    vault.activateNew('nomode');
    vault.addKeyring('noseed', 'deterministic');
    const seed = vault.activateNew('retired');
    vault.modes.set('retired', 'deterministic');
    vault.setState(seed.seedId, SeedState.Deactivated);
    const items = [item('1', 'nombre', 'Ana')];
    await expect(tokens.tokenize('nomode', items)).rejects.toMatchObject({ code: 'keyring_mode_unset', status: 409 });
    await expect(tokens.tokenize('noseed', items)).rejects.toMatchObject({ code: 'no_active_seed', status: 409 });
    await expect(tokens.tokenize('retired', items)).rejects.toMatchObject({ code: 'no_active_seed', status: 409 });
    await expect(tokens.tokenize('missing', items)).rejects.toMatchObject({ code: 'keyring_not_found', status: 404 });
    expect(vault.rows).toHaveLength(0);
  });

  it('issues under the new version when a rotation lands between reading and writing', async () => {
    const { vault, tokens } = setup();
    vault.addKeyring('patients', 'random');
    vault.activateNew('patients');
    vault.beforeInsert = () => {
      vault.beforeInsert = null;
      vault.activateNew('patients');
    };
    const [out] = await tokens.tokenize('patients', [item('1', 'nombre', 'Ana')]);
    expect(parseToken(tokenOf(out))).toMatchObject({ ok: true, token: { version: 2 } });
    expect(vault.rows.map((r) => r.version)).toEqual([2]);
  });

  it('switches new tokens to a newly activated version while old tokens still detokenize', async () => {
    const { vault, tokens } = setup();
    vault.addKeyring('patients', 'deterministic');
    vault.activateNew('patients');
    const [v1] = await tokens.tokenize('patients', [item('1', 'nombre', 'Ana')]);
    vault.activateNew('patients');
    const [v2] = await tokens.tokenize('patients', [item('1', 'nombre', 'Ana')]);
    expect(tokenOf(v1)).toMatch(/^tk_v1_/);
    expect(tokenOf(v2)).toMatch(/^tk_v2_/);
    const back = await tokens.detokenize('patients', [{ reference: 'x', token: tokenOf(v1) }, { reference: 'y', token: tokenOf(v2) }]);
    expect(back).toEqual([{ reference: 'x', value: 'ANA', field: 'nombre' }, { reference: 'y', value: 'ANA', field: 'nombre' }]);
  });

  it('does not issue again a deterministic token that was erased', async () => {
    const { vault, tokens } = setup();
    vault.addKeyring('patients', 'deterministic');
    vault.activateNew('patients');
    const [first] = await tokens.tokenize('patients', [item('1', 'nombre', 'Ana')]);
    await tokens.erase('patients', tokenOf(first));
    const [again] = await tokens.tokenize('patients', [item('1', 'nombre', 'Ana')]);
    expect(again).toMatchObject({ reference: '1', error: { code: 'token_erased' } });
  });
});

describe('Tokenizer.detokenize, verify and erase', () => {
  async function issued() {
    const ctx = setup();
    ctx.vault.addKeyring('patients', 'random');
    ctx.vault.addKeyring('trials', 'random');
    const seed = ctx.vault.activateNew('patients');
    ctx.vault.activateNew('trials');
    const [p] = await ctx.tokens.tokenize('patients', [item('1', 'documento_id', 'CC-1234567')]);
    const [t] = await ctx.tokens.tokenize('trials', [item('1', 'documento_id', 'CC-1234567')]);
    return { ...ctx, seed, patientToken: tokenOf(p), trialToken: tokenOf(t) };
  }

  const codes = (out: DetokenizeOutcome[]) => out.map((o) => ('error' in o ? o.error.code : o.value));

  it('round-trips the normalised value and hides other keyrings’ tokens as not found', async () => {
    const { tokens, patientToken, trialToken } = await issued();
    const out = await tokens.detokenize('patients', [
      { reference: 'mine', token: patientToken },
      { reference: 'theirs', token: trialToken },
      { reference: 'bad', token: 'not-a-token' },
      { reference: 'tampered', token: patientToken.slice(0, -1) + (patientToken.endsWith('A') ? 'B' : 'A') },
    ]);
    expect(codes(out)).toEqual(['CC1234567', 'token_not_found', 'invalid_token_format', 'token_not_found']);
    expect(JSON.stringify(out.slice(1))).not.toContain('CC1234567');
  });

  it('refuses tokens of a destroyed version and zeroises its keys', async () => {
    const { vault, tokens, keys, derivation, seed, patientToken } = await issued();
    vault.setState(seed.seedId, SeedState.Destroyed);
    expect(codes(await tokens.detokenize('patients', [{ reference: '1', token: patientToken }]))).toEqual(['seed_destroyed']);
    expect(keys.held()).not.toContain(seed.seedId);
    await expect(derivation.made[0]!.hmacCheck(new Uint8Array(1))).rejects.toMatchObject({ code: 'working_keys_zeroized' });
    expect(await tokens.verify(patientToken)).toEqual({ valid: false, keyring: 'patients', version: 1, state: 'destroyed' });
  });

  it('verifies genuine tokens without revealing the value, and reports erased and unknown ones', async () => {
    const { vault, tokens, patientToken, trialToken } = await issued();
    expect(await tokens.verify(patientToken)).toEqual({ valid: true, keyring: 'patients', version: 1, state: 'active' });
    vault.activateNew('patients');
    expect(await tokens.verify(patientToken)).toEqual({ valid: true, keyring: 'patients', version: 1, state: 'deactivated' });
    expect(await tokens.erase('patients', trialToken)).toBe(false);
    expect(await tokens.erase('trials', trialToken)).toBe(true);
    expect(await tokens.verify(trialToken)).toEqual({ valid: false, keyring: 'trials', version: 1, state: 'erased' });
    expect(codes(await tokens.detokenize('trials', [{ reference: '1', token: trialToken }]))).toEqual(['token_erased']);
    const forged = `tk_v1_${'A'.repeat(32)}_${'A'.repeat(8)}`;
    expect(await tokens.verify(forged)).toEqual({ valid: false, keyring: null, version: null, state: 'unknown' });
    await expect(tokens.verify('tk_v01_x')).rejects.toMatchObject({ code: 'invalid_token_format', status: 400 });
  });
});

describe('Tokenizer.setMode', () => {
  it('sets a mode, repeats idempotently, and locks it once the keyring has tokens', async () => {
    const { vault, tokens } = setup();
    vault.addKeyring('patients');
    vault.activateNew('patients');
    await expect(tokens.setMode('patients', 'random')).resolves.toEqual({ keyring: 'patients', mode: 'random' });
    await expect(tokens.setMode('patients', 'deterministic')).resolves.toEqual({ keyring: 'patients', mode: 'deterministic' });
    await tokens.tokenize('patients', [item('1', 'nombre', 'Ana')]);
    await expect(tokens.setMode('patients', 'deterministic')).resolves.toEqual({ keyring: 'patients', mode: 'deterministic' });
    await expect(tokens.setMode('patients', 'random')).rejects.toMatchObject({ code: 'mode_locked', status: 409 });
    await expect(tokens.setMode('missing', 'random')).rejects.toMatchObject({ code: 'keyring_not_found', status: 404 });
  });
});
