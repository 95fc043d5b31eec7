import { SALUDTECH_FIELDS, normalizeField, utcCalendarDate, type NormalizeResult } from '../../../domain/normalize';

const ctx = { today: '2025-06-15' };
const norm = (field: string, value: unknown): NormalizeResult => normalizeField(field, value, ctx);
const valueOf = (field: string, value: unknown): string | undefined => {
  const r = norm(field, value);
  return r.ok ? r.value : undefined;
};

function expectRejected(field: string, value: unknown, code: string): void {
  const r = norm(field, value);
  expect(r).toEqual({ ok: false, code, message: expect.any(String) });
  // Patient data never appears in errors, not even a recognisable fragment.
  if (!r.ok && typeof value === 'string' && value.trim().length >= 3) {
    expect(r.message).not.toContain(value);
    expect(r.message).not.toContain(value.trim());
  }
}

describe('normalizeField', () => {
  describe('documento_id', () => {
    it.each(['1.234.567-8', ' 1234 5678 ', '12345678', '1-2-3-4-5-6-7-8', '12.345.678\t'])('maps %p to 12345678', (v) => {
      expect(valueOf('documento_id', v)).toBe('12345678');
    });
    it('upper-cases letters', () => {
      expect(valueOf('documento_id', 'cc-ab.123')).toBe('CCAB123');
    });
    it.each([
      ['123', 'too short'],
      ['123456789012345678901', 'too long'],
      ['12345#78', 'a symbol'],
      ['1234ñ5', 'a non-ASCII letter'],
    ])('rejects %p (%s) with invalid_value', (v) => expectRejected('documento_id', v, 'invalid_value'));
  });

  describe('id_paciente', () => {
    it.each(['hcl-00042', ' HCL-00042 ', 'Hcl-00042'])('maps %p to HCL-00042', (v) => {
      expect(valueOf('id_paciente', v)).toBe('HCL-00042');
    });
    it('accepts 64 characters and rejects 65', () => {
      expect(valueOf('id_paciente', 'A'.repeat(64))).toBe('A'.repeat(64));
      expectRejected('id_paciente', 'A'.repeat(65), 'invalid_value');
    });
    it.each(['HCL 00042', 'HCL_00042', 'HCL.00042'])('rejects %p with invalid_value', (v) => expectRejected('id_paciente', v, 'invalid_value'));
  });

  describe('nombre', () => {
    it.each(['José Peña', '  jose   pena ', 'JOSÉ\tPEÑA', 'Jose\u00a0Peña', 'Jose\u0301 Pen\u0303a'])('maps %p to JOSE PENA', (v) => {
      expect(valueOf('nombre', v)).toBe('JOSE PENA');
    });
    it("keeps apostrophes and hyphens and unifies typographic apostrophes", () => {
      expect(valueOf('nombre', "María-José O’Brien")).toBe("MARIA-JOSE O'BRIEN");
      expect(valueOf('nombre', "maria-jose o'brien")).toBe("MARIA-JOSE O'BRIEN");
    });
    it('upper-cases without locale surprises', () => {
      expect(valueOf('nombre', 'Strauß')).toBe('STRAUSS');
    });
    it.each([
      ['Juan 2', 'invalid_value'],
      ['Ana <b>', 'invalid_value'],
      ['   ', 'empty_value'],
      ['A'.repeat(201), 'value_too_long'],
    ])('rejects %p with %s', (v, code) => expectRejected('nombre', v, code));
    it('accepts exactly 200 characters', () => {
      expect(valueOf('nombre', 'a'.repeat(200))).toBe('A'.repeat(200));
    });
  });

  describe('fecha_nacimiento', () => {
    it.each(['1980-03-05', '05/03/1980', '5/3/1980', '05-03-1980', '19800305', ' 1980-03-05 '])('maps %p to 1980-03-05', (v) => {
      expect(valueOf('fecha_nacimiento', v)).toBe('1980-03-05');
    });
    it('reads slashed and hyphenated dates day first', () => {
      expect(valueOf('fecha_nacimiento', '12/01/1990')).toBe('1990-01-12');
    });
    it('accepts 29 February only in leap years', () => {
      expect(valueOf('fecha_nacimiento', '2000-02-29')).toBe('2000-02-29');
      expect(valueOf('fecha_nacimiento', '29/02/2024')).toBe('2024-02-29');
      expectRejected('fecha_nacimiento', '1900-02-29', 'invalid_date');
      expectRejected('fecha_nacimiento', '29/02/2023', 'invalid_date');
    });
    it.each(['1980-13-01', '31/04/1980', '00/01/1980', '1980-01-00', '19801332'])('rejects the impossible date %p with invalid_date', (v) =>
      expectRejected('fecha_nacimiento', v, 'invalid_date'),
    );
    it.each(['1980/03/05', '03.05.1980', '80-03-05', 'March 5 1980', '1980-3-5', '2024-02-30T00:00'])('rejects the unsupported format %p with invalid_date', (v) =>
      expectRejected('fecha_nacimiento', v, 'invalid_date'),
    );
    it('accepts today and 1880-01-01, rejects tomorrow and 1879-12-31 with date_out_of_range', () => {
      expect(valueOf('fecha_nacimiento', '2025-06-15')).toBe('2025-06-15');
      expect(valueOf('fecha_nacimiento', '01/01/1880')).toBe('1880-01-01');
      expectRejected('fecha_nacimiento', '2025-06-16', 'date_out_of_range');
      expectRejected('fecha_nacimiento', '31/12/1879', 'date_out_of_range');
    });
    it('takes "today" from the context, not the clock', () => {
      expect(normalizeField('fecha_nacimiento', '2030-01-01', { today: '2031-01-01' })).toEqual({ ok: true, field: 'fecha_nacimiento', value: '2030-01-01' });
      expect(utcCalendarDate(new Date('2025-06-15T23:59:59Z'))).toBe('2025-06-15');
    });
  });

  describe('direccion', () => {
    it.each(['Calle 45 # 12-30, Bogotá', '  calle 45  #  12-30,   BOGOTA ', 'CALLE 45 # 12-30,\nBogotá'])('maps %p to one form', (v) => {
      expect(valueOf('direccion', v)).toBe('CALLE 45 # 12-30, BOGOTA');
    });
    it('accepts 300 characters and rejects 301', () => {
      expect(valueOf('direccion', 'x'.repeat(300))).toBe('X'.repeat(300));
      expectRejected('direccion', 'x'.repeat(301), 'value_too_long');
    });
    it('rejects control characters', () => expectRejected('direccion', 'Calle 1\u0000 Sur', 'invalid_value'));
  });

  describe('every field', () => {
    it('rejects an unknown field without echoing its name', () => {
      const r = norm('cedula_secreta', '123');
      expect(r).toEqual({ ok: false, code: 'unknown_field', message: expect.stringContaining('documento_id') });
      expect(!r.ok && r.message).not.toContain('cedula_secreta');
    });
    it.each(SALUDTECH_FIELDS)('rejects non-strings, blank and oversized values of %s', (field) => {
      expectRejected(field, 12345678, 'invalid_type');
      expectRejected(field, null, 'invalid_type');
      expectRejected(field, ' \t ', 'empty_value');
      expectRejected(field, 'A'.repeat(1001), 'value_too_long');
    });
    it.each(SALUDTECH_FIELDS)('is idempotent for %s', (field) => {
      const samples: Record<string, string> = { documento_id: '1.234.567', id_paciente: 'hc-1', nombre: 'Peña Nieto', fecha_nacimiento: '5/3/1980', direccion: 'Cra 7 # 1-1 Bogotá' };
      const once = valueOf(field, samples[field]);
      expect(once).toBeDefined();
      expect(valueOf(field, once)).toBe(once);
    });
    it('never puts a rejected value in any message', () => {
      const secret = 'Zz9-SECRET-4711';
      for (const field of SALUDTECH_FIELDS) {
        for (const value of [`${secret}!!`, `${secret}${'x'.repeat(400)}`, `${secret}\u0000`]) {
          const r = norm(field, value);
          if (!r.ok) expect(r.message).not.toMatch(/SECRET|4711/i);
        }
      }
    });
  });
});
