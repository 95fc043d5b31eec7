import { InvalidInputError } from './errors';

/**
 * Row handling of dataset files (NDJSON and CSV), pure and byte-exact.
 *
 * Scanning (upload and chunk planning) works on bytes, incrementally, so a file of
 * any size is validated in one pass without being held in memory. It finds row
 * boundaries (byte offsets), counts rows and rejects structural errors with a code
 * and a line number — never with the content, which is patient data.
 *
 * Rewriting (one chunk at a time, domain/datasetRows.ts) turns each row into a template: literal text and
 * slots for the named fields. Everything that is not a named field's value is kept
 * byte for byte (CSV quoting, JSON number spelling, key order, line endings).
 *
 * Rules:
 * - Empty lines (NDJSON: whitespace only; CSV: nothing or a lone CR) are not rows:
 *   they are skipped and do not appear in the output.
 * - NDJSON: every other line is a JSON object (UTF-8). A named field that is absent or
 *   null is left alone; a string is tokenized; a number is tokenized as written
 *   (`12345` → "12345"); any other type cannot be tokenized (slot with value null).
 * - CSV (RFC 4180): comma separator, `"` quoting with `""` escapes, LF or CRLF line
 *   endings, UTF-8. The first record is the header; every record has the header's
 *   column count. An empty cell of a named column is left empty.
 */
export type DatasetFormat = 'ndjson' | 'csv';
export const DATASET_FORMATS: readonly DatasetFormat[] = ['ndjson', 'csv'];

/** Largest accepted row, in bytes: a file without line breaks must not grow a buffer forever. */
export const MAX_ROW_BYTES = 1024 * 1024;

export type DatasetFormatErrorCode =
  | 'invalid_json'
  | 'not_an_object'
  | 'invalid_utf8'
  | 'row_too_long'
  | 'missing_header'
  | 'duplicate_column'
  | 'missing_field'
  | 'inconsistent_columns'
  | 'invalid_quote'
  | 'unterminated_quote'
  | 'empty_dataset';

/** A structural error in an uploaded file: 400 with a code and the 1-based line it was found on. */
export class DatasetFormatError extends InvalidInputError {
  constructor(
    code: DatasetFormatErrorCode,
    readonly line: number,
    message: string,
  ) {
    super(code, line > 0 ? `Line ${line}: ${message}` : message);
  }
}

export interface ScanSummary {
  /** Data rows (header and empty lines excluded). */
  rows: number;
  /** Byte offset where the data rows begin (after the CSV header; 0 for NDJSON). */
  dataStart: number;
  bytes: number;
}

/** Called for each data row with its byte range [start, end), line ending included. */
export type RowCallback = (start: number, end: number) => void;

export interface DatasetScanner {
  /** Feeds the next bytes of the file; throws DatasetFormatError at the first structural error. */
  push(chunk: Buffer): void;
  /** Declares the end of the file; throws if it is truncated or holds no rows. */
  end(): ScanSummary;
}

export function createScanner(format: DatasetFormat, fields: readonly string[], onRow: RowCallback = () => undefined): DatasetScanner {
  return format === 'csv' ? new CsvScanner(fields, onRow) : new NdjsonScanner(fields, onRow);
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const strictUtf8 = () => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// ---------------------------------------------------------------------------------------------
// NDJSON

class NdjsonScanner implements DatasetScanner {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private offset = 0; // absolute offset of the first pending byte
  private line = 0;
  private rows = 0;
  private readonly unseen: Set<string>;
  private readonly decoder = strictUtf8();

  constructor(
    fields: readonly string[],
    private readonly onRow: RowCallback,
  ) {
    this.unseen = new Set(fields);
  }

  push(chunk: Buffer): void {
    let from = 0;
    for (let nl = chunk.indexOf(LF, from); nl !== -1; nl = chunk.indexOf(LF, from)) {
      const part = chunk.subarray(from, nl + 1);
      const bytes = this.pendingBytes === 0 ? part : Buffer.concat([...this.pending, part]);
      this.checkSize(bytes.length);
      this.row(bytes);
      this.pending = [];
      this.pendingBytes = 0;
      from = nl + 1;
    }
    if (from < chunk.length) {
      this.pending.push(chunk.subarray(from));
      this.pendingBytes += chunk.length - from;
      this.checkSize(this.pendingBytes);
    }
  }

  end(): ScanSummary {
    if (this.pendingBytes > 0) this.row(Buffer.concat(this.pending));
    if (this.rows === 0) throw new DatasetFormatError('empty_dataset', 0, 'The file holds no rows.');
    const [missing] = this.unseen;
    if (missing !== undefined) throw new DatasetFormatError('missing_field', 0, `No row has the field ${missing}.`);
    return { rows: this.rows, dataStart: 0, bytes: this.offset };
  }

  private checkSize(bytes: number): void {
    if (bytes > MAX_ROW_BYTES) throw new DatasetFormatError('row_too_long', this.line + 1, `A row is longer than ${MAX_ROW_BYTES} bytes.`);
  }

  private row(bytes: Buffer): void {
    this.line += 1;
    const start = this.offset;
    this.offset += bytes.length;
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      throw new DatasetFormatError('invalid_utf8', this.line, 'The line is not valid UTF-8.');
    }
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new DatasetFormatError('invalid_json', this.line, 'The line is not valid JSON.');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DatasetFormatError('not_an_object', this.line, 'Each line must be a JSON object.');
    }
    if (this.unseen.size > 0) for (const f of this.unseen) if (Object.hasOwn(value, f)) this.unseen.delete(f);
    this.rows += 1;
    this.onRow(start, this.offset);
  }
}

// ---------------------------------------------------------------------------------------------
// CSV

const enum Csv {
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote inside a quoted field: either the closing quote or the first half of `""`. */
  QuoteInQuoted,
  /** CR right after a closing quote: only LF may follow. */
  CrAfterQuote,
}

class CsvScanner implements DatasetScanner {
  private state = Csv.FieldStart;
  private offset = 0;
  private line = 1;
  private recordStart = 0;
  private recordLine = 1;
  private columns = 1;
  /** Whether the current record has anything but CRs (an empty line is not a row). */
  private hasContent = false;
  private expectedColumns = 0; // 0 until the header is read
  private dataStart = 0;
  private rows = 0;
  private header: Buffer[] = [];
  private readonly decoder = strictUtf8();

  constructor(
    private readonly fields: readonly string[],
    private readonly onRow: RowCallback,
  ) {}

  push(chunk: Buffer): void {
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      throw new DatasetFormatError('invalid_utf8', this.line, 'The file is not valid UTF-8.');
    }
    const base = this.offset;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b !== CR && b !== LF) this.hasContent = true;
      switch (this.state) {
        case Csv.FieldStart:
        case Csv.Unquoted:
          if (b === COMMA) {
            this.columns += 1;
            this.state = Csv.FieldStart;
          } else if (b === LF) {
            this.endRecord(chunk, base, i + 1);
          } else if (b === QUOTE) {
            if (this.state === Csv.Unquoted) throw new DatasetFormatError('invalid_quote', this.line, 'A quote appears inside an unquoted field.');
            this.state = Csv.Quoted;
          } else {
            this.state = Csv.Unquoted;
          }
          break;
        case Csv.Quoted:
          if (b === QUOTE) this.state = Csv.QuoteInQuoted;
          else if (b === LF) this.line += 1;
          break;
        case Csv.QuoteInQuoted:
          if (b === QUOTE) this.state = Csv.Quoted;
          else if (b === COMMA) {
            this.columns += 1;
            this.state = Csv.FieldStart;
          } else if (b === LF) this.endRecord(chunk, base, i + 1);
          else if (b === CR) this.state = Csv.CrAfterQuote;
          else throw new DatasetFormatError('invalid_quote', this.line, 'A closing quote must be followed by a comma or a line break.');
          break;
        case Csv.CrAfterQuote:
          if (b !== LF) throw new DatasetFormatError('invalid_quote', this.line, 'A closing quote must be followed by a comma or a line break.');
          this.endRecord(chunk, base, i + 1);
          break;
      }
      if (i - (this.recordStart - base) > MAX_ROW_BYTES) throw new DatasetFormatError('row_too_long', this.recordLine, `A row is longer than ${MAX_ROW_BYTES} bytes.`);
    }
    if (this.expectedColumns === 0) this.header.push(chunk.subarray(Math.max(0, this.recordStart - base)));
    this.offset += chunk.length;
  }

  end(): ScanSummary {
    if (this.state === Csv.Quoted) throw new DatasetFormatError('unterminated_quote', this.recordLine, 'A quoted field is not closed before the end of the file (truncated upload?).');
    try {
      this.decoder.decode();
    } catch {
      throw new DatasetFormatError('invalid_utf8', this.line, 'The file is not valid UTF-8 (it ends inside a character).');
    }
    if (this.offset > this.recordStart) this.finishRecord(this.offset);
    if (this.expectedColumns === 0) throw new DatasetFormatError('missing_header', 1, 'A CSV file starts with a header line naming its columns.');
    if (this.rows === 0) throw new DatasetFormatError('empty_dataset', 0, 'The file holds a header but no rows.');
    return { rows: this.rows, dataStart: this.dataStart, bytes: this.offset };
  }

  /** LF outside quotes at chunk[i-1]: the record [recordStart, base + i) is complete. */
  private endRecord(chunk: Buffer, base: number, i: number): void {
    const end = base + i;
    if (this.expectedColumns === 0) this.header.push(chunk.subarray(Math.max(0, this.recordStart - base), i));
    this.finishRecord(end);
    this.line += 1;
  }

  private finishRecord(end: number): void {
    if (this.hasContent) {
      if (this.expectedColumns === 0) this.readHeader(end);
      else {
        if (this.columns !== this.expectedColumns) {
          throw new DatasetFormatError('inconsistent_columns', this.recordLine, `The row has ${this.columns} columns; the header has ${this.expectedColumns}.`);
        }
        this.rows += 1;
        this.onRow(this.recordStart, end);
      }
    } else if (this.expectedColumns === 0) {
      this.header = [];
    }
    this.recordStart = end;
    this.recordLine = this.line + 1;
    this.columns = 1;
    this.hasContent = false;
    this.state = Csv.FieldStart;
  }

  private readHeader(end: number): void {
    const [record] = parseCsvRecords(Buffer.concat(this.header).toString('utf8').replace(/^\uFEFF/, ''));
    const names = (record?.cells ?? []).map(unquoteCsvCell);
    this.header = [];
    if (names.every((n) => n.trim() === '')) throw new DatasetFormatError('missing_header', this.recordLine, 'A CSV file starts with a header line naming its columns.');
    for (const field of this.fields) {
      const count = names.filter((n) => n === field).length;
      if (count === 0) throw new DatasetFormatError('missing_field', this.recordLine, `The header has no column ${field}.`);
      if (count > 1) throw new DatasetFormatError('duplicate_column', this.recordLine, `The header names ${field} more than once.`);
    }
    this.expectedColumns = this.columns;
    this.dataStart = end;
  }
}

export interface CsvRecord {
  /** Raw cells as written (quotes included). */
  cells: string[];
  /** '\n', '\r\n' or '' (last record without a line break). */
  terminator: string;
}

/** Splits well-formed CSV text into records of raw cells; empty lines are dropped. */
export function parseCsvRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let cells: string[] = [];
  let cellStart = 0;
  let quoted = false;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') i++;
        else quoted = false;
      }
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(text.slice(cellStart, i));
      cellStart = i + 1;
    } else if (c === '\n' || c === undefined) {
      if (c === undefined && cellStart === i && cells.length === 0) break;
      const crlf = c === '\n' && i > cellStart && text[i - 1] === '\r';
      cells.push(text.slice(cellStart, crlf ? i - 1 : i));
      const terminator = c === undefined ? '' : crlf ? '\r\n' : '\n';
      if (!(cells.length === 1 && /^\r*$/.test(cells[0]!))) records.push({ cells, terminator });
      cells = [];
      cellStart = i + 1;
    }
  }
  return records;
}

/** `"a ""b"""` → `a "b"`; an unquoted cell is returned as is. */
export function unquoteCsvCell(cell: string): string {
  return cell.startsWith('"') && cell.endsWith('"') && cell.length >= 2 ? cell.slice(1, -1).replace(/""/g, '"') : cell;
}
