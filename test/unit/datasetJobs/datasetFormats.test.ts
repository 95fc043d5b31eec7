import { createScanner, DatasetFormatError, type DatasetFormat } from '../../../domain/datasetFormats';
import { createRowCodec, renderRows } from '../../../domain/datasetRows';

/** Feeds `text` in pieces of `step` bytes (boundaries anywhere, even inside a character) and collects row ranges. */
function scan(format: DatasetFormat, text: string | Buffer, fields: string[] = ['documento_id'], step = 7) {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const rows: Array<[number, number]> = [];
  const scanner = createScanner(format, fields, (s, e) => rows.push([s, e]));
  for (let i = 0; i < bytes.length; i += step) scanner.push(bytes.subarray(i, i + step));
  return { summary: scanner.end(), rows, slices: rows.map(([s, e]) => bytes.subarray(s, e).toString('utf8')) };
}

function scanError(format: DatasetFormat, text: string, fields: string[] = ['documento_id']): { code: string; line: number; message: string } {
  try {
    scan(format, text, fields);
  } catch (err) {
    if (err instanceof DatasetFormatError) return { code: err.code, line: err.line, message: err.message };
    throw err;
  }
  throw new Error('expected a DatasetFormatError');
}

describe('NDJSON scanning', () => {
  it('counts object rows and gives each row its byte range, skipping empty lines', () => {
    const text = '{"documento_id":"1"}\n\n{"documento_id":"ñ2","x":[1,{"y":"}"}]}\r\n  \n{"documento_id":3}';
    const { summary, slices } = scan('ndjson', text, ['documento_id'], 3);
    expect(summary).toEqual({ rows: 3, dataStart: 0, bytes: Buffer.byteLength(text) });
    expect(slices).toEqual(['{"documento_id":"1"}\n', '{"documento_id":"ñ2","x":[1,{"y":"}"}]}\r\n', '{"documento_id":3}']);
  });

  it.each([
    ['a line that is not JSON', '{"documento_id":"1"}\n{"documento_id":\n', 'invalid_json', 2],
    ['a truncated last line', '{"documento_id":"1"}\n{"documento_id":"12', 'invalid_json', 2],
    ['an array instead of an object', '{"documento_id":"1"}\n\n[1,2]\n', 'not_an_object', 3],
    ['no rows at all', '\n \n', 'empty_dataset', 0],
    ['a named field that no row has', '{"nombre":"A"}\n', 'missing_field', 0],
  ])('rejects %s', (_name, text, code, line) => {
    expect(scanError('ndjson', text)).toMatchObject({ code, line });
  });

  it('never repeats the content of a bad line in the error', () => {
    const err = scanError('ndjson', '{"documento_id":"CC-79123456" oops}\n');
    expect(err.message).not.toContain('79123456');
  });

  it('rejects invalid UTF-8', () => {
    expect(() => scan('ndjson', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d, 0x0a]), ['a' as string])).toThrow(DatasetFormatError);
  });
});

describe('CSV scanning', () => {
  it('reads the header, counts rows (quoted line breaks, CRLF, empty lines) and starts data after the header', () => {
    const text = '\uFEFFdocumento_id,nombre\r\n"1, 2","Ana\nMaría"\r\n\r\n3,"Luis ""Lucho"""\r\n4,Eva';
    const { summary, slices } = scan('csv', text, ['documento_id', 'nombre'], 5);
    expect(summary.rows).toBe(3);
    expect(summary.dataStart).toBe(Buffer.byteLength('\uFEFFdocumento_id,nombre\r\n'));
    expect(slices).toEqual(['"1, 2","Ana\nMaría"\r\n', '3,"Luis ""Lucho"""\r\n', '4,Eva']);
  });

  it.each([
    ['a truncated file (quote left open)', 'documento_id,nombre\n1,Ana\n2,"Lu', 'unterminated_quote', 3],
    ['a file truncated inside a multi-line cell', 'documento_id,nombre\n1,"Ana\nMar', 'unterminated_quote', 2],
    ['a row with too few columns', 'documento_id,nombre\n1,Ana\n2\n', 'inconsistent_columns', 3],
    ['a row with too many columns', 'documento_id,nombre\n1,Ana,x\n', 'inconsistent_columns', 2],
    ['a quote inside an unquoted field', 'documento_id,nombre\n1,An"a\n', 'invalid_quote', 2],
    ['text after a closing quote', 'documento_id,nombre\n1,"Ana"x\n', 'invalid_quote', 2],
    ['a header without the named field', 'id,nombre\n1,Ana\n', 'missing_field', 1],
    ['a header naming the field twice', 'documento_id,documento_id\n1,2\n', 'duplicate_column', 1],
    ['an empty file', '', 'missing_header', 1],
    ['a header and no rows', 'documento_id,nombre\n', 'empty_dataset', 0],
  ])('rejects %s', (_name, text, code, line) => {
    expect(scanError('csv', text)).toMatchObject({ code, line });
  });
});

describe('row rewriting', () => {
  const tokenFor = (v: string) => `tk_v1_${Buffer.from(v).toString('hex')}`;

  function rewrite(format: DatasetFormat, header: string | undefined, text: string, fields: string[], fail: (v: string) => boolean = () => false) {
    const codec = createRowCodec(format, fields, header);
    const rows = codec.parseRows(text);
    const slots = rows.flatMap((r) => r.slots);
    const out = renderRows(rows, (k) => {
      const v = slots[k]!.value;
      return codec.renderSlot(v === null || fail(v) ? null : tokenFor(v));
    });
    return { rows, slots, out };
  }

  it('CSV: replaces the named cells and keeps every other byte (quoting, CRLF, empty cells)', () => {
    const header = 'documento_id,nota,nombre\r\n';
    const text = '"79.123.456","a, ""b""",Ana\r\n\r\n80,,\r\n81,x,"Eva"';
    const { rows, out } = rewrite('csv', header, text, ['documento_id', 'nombre']);
    expect(rows).toHaveLength(3);
    expect(out).toBe(`${tokenFor('79.123.456')},"a, ""b""",${tokenFor('Ana')}\r\n${tokenFor('80')},,\r\n${tokenFor('81')},x,${tokenFor('Eva')}`);
  });

  it('CSV: a value that fails is written as an empty cell', () => {
    const { out } = rewrite('csv', 'documento_id,nombre\n', '1,Ana\n', ['documento_id', 'nombre'], (v) => v === 'Ana');
    expect(out).toBe(`${tokenFor('1')},\n`);
  });

  it('NDJSON: replaces top-level string and number values, keeps key order, spacing and big numbers; null for other types', () => {
    const text = '{ "a": 12345678901234567890, "documento_id" : "79" , "nombre": {"documento_id":"nested"}}\n{"documento_id":79123,"nombre":null}\n{"nombre":true}\n';
    const { slots, out } = rewrite('ndjson', undefined, text, ['documento_id', 'nombre']);
    expect(slots).toEqual([
      { field: 'documento_id', value: '79' },
      { field: 'nombre', value: null },
      { field: 'documento_id', value: '79123' },
      { field: 'nombre', value: null },
    ]);
    expect(out).toBe(
      `{ "a": 12345678901234567890, "documento_id" : "${tokenFor('79')}" , "nombre": null}\n` +
        `{"documento_id":"${tokenFor('79123')}","nombre":null}\n` +
        '{"nombre":null}\n',
    );
  });

  it('NDJSON: an escaped string value is tokenized unescaped', () => {
    const { slots } = rewrite('ndjson', undefined, '{"nombre":"Pe\\u00f1a \\"P\\""}\n', ['nombre']);
    expect(slots[0]?.value).toBe('Peña "P"');
  });
});
