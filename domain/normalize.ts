/**
 * Normalisation of SaludTech record fields before tokenization, so the same
 * patient written two ways gets one token. The rules are part of the token's
 * meaning: changing one changes tokens, so a change needs a new seed version
 * and re-tokenization, like a key rotation.
 *
 * | field              | rule                                                                                   | valid result            |
 * | ------------------ | -------------------------------------------------------------------------------------- | ----------------------- |
 * | `documento_id`     | trim; remove all whitespace, `.` and `-`; upper-case                                    | `[A-Z0-9]{4,20}`        |
 * | `id_paciente`      | trim; upper-case                                                                        | `[A-Z0-9-]{1,64}`       |
 * | `nombre`           | upper-case; strip accents; `’`/`‘` → `'`; collapse whitespace; trim                     | letters, space, `'`, `-`; 1-200 characters |
 * | `fecha_nacimiento` | trim; `YYYY-MM-DD`, `DD/MM/YYYY`, `DD-MM-YYYY` (day and month may have 1 digit), `YYYYMMDD` | a real date in [1880-01-01, today], as `YYYY-MM-DD` |
 * | `direccion`        | upper-case; strip accents; collapse whitespace; trim; no control characters             | 1-300 characters        |
 *
 * "Strip accents" = Unicode NFD, remove combining marks (\p{M}), NFC: `Peña` → `PENA`, `José` → `JOSE`.
 * Upper-casing is locale-independent (`ß` → `SS`). Error messages name the
 * field and the rule but never contain the value: it is patient data.
 */
export const SALUDTECH_FIELDS = ['documento_id', 'id_paciente', 'nombre', 'fecha_nacimiento', 'direccion'] as const;
export type SaludTechField = (typeof SALUDTECH_FIELDS)[number];

export type NormalizeErrorCode = 'unknown_field' | 'invalid_type' | 'empty_value' | 'value_too_long' | 'invalid_value' | 'invalid_date' | 'date_out_of_range';

export type NormalizeResult = { ok: true; field: SaludTechField; value: string } | { ok: false; code: NormalizeErrorCode; message: string };

export interface NormalizeContext {
  /** Today's calendar date as `YYYY-MM-DD` (injected so normalisation stays pure). */
  today: string;
}

/** Longest raw input looked at; longer values are rejected before any processing. */
export const MAX_RAW_VALUE_LENGTH = 1000;
export const EARLIEST_BIRTH_DATE = '1880-01-01';

type Outcome = { ok: true; value: string } | { ok: false; code: NormalizeErrorCode; message: string };
type Rule = (raw: string, ctx: NormalizeContext) => Outcome;

const RULES: Record<SaludTechField, Rule> = {
  documento_id: (raw) => {
    const value = raw.trim().replace(/[\s.-]+/gu, '').toUpperCase();
    return /^[A-Z0-9]{4,20}$/.test(value) ? ok(value) : fail('invalid_value', 'documento_id must have 4-20 letters A-Z or digits after removing spaces, dots and hyphens.');
  },
  id_paciente: (raw) => {
    const value = raw.trim().toUpperCase();
    return /^[A-Z0-9-]{1,64}$/.test(value) ? ok(value) : fail('invalid_value', 'id_paciente must be 1-64 characters: letters A-Z, digits and hyphens.');
  },
  nombre: (raw) => {
    const value = collapseWhitespace(stripAccents(raw.toUpperCase()).replace(/[\u2018\u2019]/gu, "'"));
    if (value.length === 0) return fail('empty_value', 'nombre is empty.');
    if ([...value].length > 200) return fail('value_too_long', 'nombre is longer than 200 characters.');
    return /^[\p{L}' -]+$/u.test(value) ? ok(value) : fail('invalid_value', "nombre may contain only letters, spaces, apostrophes (') and hyphens (-).");
  },
  fecha_nacimiento: (raw, ctx) => normalizeBirthDate(raw.trim(), ctx.today),
  direccion: (raw) => {
    const value = collapseWhitespace(stripAccents(raw.toUpperCase()));
    if (value.length === 0) return fail('empty_value', 'direccion is empty.');
    if ([...value].length > 300) return fail('value_too_long', 'direccion is longer than 300 characters.');
    return /\p{Cc}/u.test(value) ? fail('invalid_value', 'direccion must not contain control characters.') : ok(value);
  },
};

export function isSaludTechField(field: unknown): field is SaludTechField {
  return typeof field === 'string' && (SALUDTECH_FIELDS as readonly string[]).includes(field);
}

/** Normalises one value of one field; failures are per-item errors with a machine-readable code. */
export function normalizeField(field: unknown, value: unknown, ctx: NormalizeContext): NormalizeResult {
  if (!isSaludTechField(field)) return fail('unknown_field', `Unknown field; expected one of ${SALUDTECH_FIELDS.join(', ')}.`);
  if (typeof value !== 'string') return fail('invalid_type', `${field} must be a string.`);
  if (value.length > MAX_RAW_VALUE_LENGTH) return fail('value_too_long', `${field} is longer than ${MAX_RAW_VALUE_LENGTH} characters.`);
  if (value.trim().length === 0) return fail('empty_value', `${field} is empty.`);
  const outcome = RULES[field](value, ctx);
  return outcome.ok ? { ok: true, field, value: outcome.value } : outcome;
}

/** `YYYY-MM-DD` of a Date in UTC; a composition root's way to build NormalizeContext. */
export function utcCalendarDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}

const DATE_FORMATS: ReadonlyArray<{ pattern: RegExp; order: 'ymd' | 'dmy' }> = [
  { pattern: /^(\d{4})-(\d{2})-(\d{2})$/, order: 'ymd' },
  { pattern: /^(\d{4})(\d{2})(\d{2})$/, order: 'ymd' },
  { pattern: /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/, order: 'dmy' },
  { pattern: /^(\d{1,2})-(\d{1,2})-(\d{4})$/, order: 'dmy' },
];

function normalizeBirthDate(raw: string, today: string): Outcome {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(today)) throw new RangeError('NormalizeContext.today must be YYYY-MM-DD');
  for (const { pattern, order } of DATE_FORMATS) {
    const m = pattern.exec(raw);
    if (!m) continue;
    const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const [year, month, day] = order === 'ymd' ? [a, b, c] : [c, b, a];
    if (!isCalendarDate(year, month, day)) return fail('invalid_date', 'fecha_nacimiento is not a real calendar date.');
    const iso = `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`;
    if (iso < EARLIEST_BIRTH_DATE) return fail('date_out_of_range', `fecha_nacimiento is before ${EARLIEST_BIRTH_DATE}.`);
    if (iso > today) return fail('date_out_of_range', 'fecha_nacimiento is in the future.');
    return ok(iso);
  }
  return fail('invalid_date', 'fecha_nacimiento must be a date as YYYY-MM-DD, DD/MM/YYYY, DD-MM-YYYY or YYYYMMDD.');
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= days;
}

function stripAccents(text: string): string {
  return text.normalize('NFD').replace(/\p{M}+/gu, '').normalize('NFC');
}

function collapseWhitespace(text: string): string {
  return text.replace(/\s+/gu, ' ').trim();
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function ok(value: string): Outcome {
  return { ok: true, value };
}

function fail(code: NormalizeErrorCode, message: string): { ok: false; code: NormalizeErrorCode; message: string } {
  return { ok: false, code, message };
}
