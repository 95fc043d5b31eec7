import { DatasetFormatError, parseCsvRecords, unquoteCsvCell, type DatasetFormat } from './datasetFormats';

/**
 * Rewriting one chunk of a dataset file (rules in domain/datasetFormats.ts): each
 * row becomes a template of literal text and slots for the named fields, so that
 * everything but a tokenized value is written back byte for byte.
 */
/** A named field's value in one row: a string to tokenize, or null when its type cannot be tokenized. */
export interface Slot {
  field: string;
  value: string | null;
}

/** A row as literal pieces around its slots: pieces.length === slots.length + 1. */
export interface RowTemplate {
  pieces: string[];
  slots: Slot[];
}

export interface RowCodec {
  /** The rows of a chunk's text (whole rows, as planned); empty lines are dropped. */
  parseRows(text: string): RowTemplate[];
  /** What goes into a slot: the token, or the format's null when the value could not be tokenized. */
  renderSlot(token: string | null): string;
}

/** Fills each slot with `render(slotIndexAcrossRows)` and joins the rows. */
export function renderRows(rows: readonly RowTemplate[], fill: (slot: number) => string): string {
  let out = '';
  let k = 0;
  for (const row of rows) {
    out += row.pieces[0]!;
    for (let s = 0; s < row.slots.length; s++) out += fill(k++) + row.pieces[s + 1]!;
  }
  return out;
}

export function createRowCodec(format: DatasetFormat, fields: readonly string[], csvHeader?: string): RowCodec {
  if (format === 'ndjson') return new NdjsonCodec(fields);
  if (csvHeader === undefined) throw new Error('a CSV codec needs the header line');
  return new CsvCodec(fields, csvHeader);
}

class NdjsonCodec implements RowCodec {
  private readonly fields: Set<string>;
  constructor(fields: readonly string[]) {
    this.fields = new Set(fields);
  }

  renderSlot(token: string | null): string {
    return token === null ? 'null' : JSON.stringify(token);
  }

  parseRows(text: string): RowTemplate[] {
    const rows: RowTemplate[] = [];
    let from = 0;
    while (from < text.length) {
      const nl = text.indexOf('\n', from);
      const end = nl === -1 ? text.length : nl + 1;
      const line = text.slice(from, end);
      from = end;
      if (line.trim() !== '') rows.push(this.parseLine(line));
    }
    return rows;
  }

  private parseLine(line: string): RowTemplate {
    const pieces: string[] = [];
    const slots: Slot[] = [];
    let literalFrom = 0;
    for (const member of topLevelMembers(line)) {
      if (!this.fields.has(member.key)) continue;
      const raw = line.slice(member.valueStart, member.valueEnd);
      const first = raw.charCodeAt(0);
      if (raw === 'null') continue;
      let value: string | null;
      if (first === 0x22) value = JSON.parse(raw) as string;
      else if (first === 0x2d || (first >= 0x30 && first <= 0x39)) value = raw;
      else value = null; // true/false/object/array: not a value we can tokenize
      pieces.push(line.slice(literalFrom, member.valueStart));
      slots.push({ field: member.key, value });
      literalFrom = member.valueEnd;
    }
    pieces.push(line.slice(literalFrom));
    return { pieces, slots };
  }
}

interface Member {
  key: string;
  valueStart: number;
  valueEnd: number;
}

/** The top-level members of a JSON object text that is known to be valid (validated at upload). */
function* topLevelMembers(s: string): Generator<Member> {
  let i = skipWs(s, 0);
  if (s[i] !== '{') throw new DatasetFormatError('not_an_object', 0, 'Each line must be a JSON object.');
  i = skipWs(s, i + 1);
  while (i < s.length && s[i] !== '}') {
    const keyEnd = endOfString(s, i);
    const key = JSON.parse(s.slice(i, keyEnd)) as string;
    i = skipWs(s, keyEnd) + 1; // ':'
    const valueStart = skipWs(s, i);
    const valueEnd = endOfValue(s, valueStart);
    yield { key, valueStart, valueEnd };
    i = skipWs(s, valueEnd);
    if (s[i] === ',') i = skipWs(s, i + 1);
  }
}

function skipWs(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  return i;
}

/** s[i] is the opening quote; returns the index after the closing quote. */
function endOfString(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j];
    if (c === '\\') j++;
    else if (c === '"') return j + 1;
  }
  return s.length;
}

function endOfValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return endOfString(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const d = s[j];
      if (d === '"') j = endOfString(s, j) - 1;
      else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return s.length;
  }
  let j = i;
  while (j < s.length && !',}] \t\r\n'.includes(s[j]!)) j++;
  return j;
}

class CsvCodec implements RowCodec {
  private readonly columns: Map<number, string>;
  private readonly width: number;

  constructor(fields: readonly string[], header: string) {
    const [record] = parseCsvRecords(header.replace(/^\uFEFF/, ''));
    const names = (record?.cells ?? []).map(unquoteCsvCell);
    this.width = names.length;
    this.columns = new Map(fields.map((f) => [names.indexOf(f), f]));
    if (this.columns.has(-1)) throw new DatasetFormatError('missing_field', 1, 'The header lacks a named field.');
  }

  renderSlot(token: string | null): string {
    return token ?? ''; // tokens are URL-safe: they never need quoting
  }

  parseRows(text: string): RowTemplate[] {
    const rows: RowTemplate[] = [];
    for (const record of parseCsvRecords(text)) {
      if (record.cells.length !== this.width) throw new DatasetFormatError('inconsistent_columns', 0, 'A row has a different column count than the header.');
      const pieces: string[] = [];
      const slots: Slot[] = [];
      let literal = '';
      record.cells.forEach((cell, c) => {
        if (c > 0) literal += ',';
        const field = this.columns.get(c);
        if (field === undefined || cell === '') {
          literal += cell;
          return;
        }
        pieces.push(literal);
        slots.push({ field, value: unquoteCsvCell(cell) });
        literal = '';
      });
      pieces.push(literal + record.terminator);
      rows.push({ pieces, slots });
    }
    return rows;
  }
}
