import { ChunkPlanner, parseFieldsParam, resolveFormat, rowsPerSecond } from '../../../domain/datasetJob';

describe('chunk planning', () => {
  it('cuts whole rows into chunks of at most N rows, in order, with byte ranges', () => {
    const planner = new ChunkPlanner(2);
    const ends = [10, 25, 30, 42, 50];
    let start = 0;
    for (const end of ends) {
      planner.addRow(start, end);
      start = end;
    }
    expect(planner.finish()).toEqual([
      { index: 0, firstRow: 0, rows: 2, start: 0, end: 25 },
      { index: 1, firstRow: 2, rows: 2, start: 25, end: 42 },
      { index: 2, firstRow: 4, rows: 1, start: 42, end: 50 },
    ]);
  });

  it('also closes a chunk at the byte limit, but never splits a row', () => {
    const planner = new ChunkPlanner(100, 20);
    planner.addRow(0, 15);
    planner.addRow(15, 30); // would make 30 bytes
    planner.addRow(30, 100); // one row larger than the limit still gets a chunk
    expect(planner.finish().map((c) => [c.start, c.end, c.rows])).toEqual([
      [0, 15, 1],
      [15, 30, 1],
      [30, 100, 1],
    ]);
  });

  it('skips gaps (empty lines) between rows', () => {
    const planner = new ChunkPlanner(2);
    planner.addRow(0, 5);
    planner.addRow(7, 12);
    planner.addRow(14, 20);
    expect(planner.finish().map((c) => [c.start, c.end])).toEqual([
      [0, 12],
      [14, 20],
    ]);
  });
});

describe('job request parameters', () => {
  it('accepts distinct SaludTech fields', () => {
    expect(parseFieldsParam('documento_id, nombre')).toEqual(['documento_id', 'nombre']);
  });

  it.each([
    [undefined, 'missing_fields'],
    ['', 'missing_fields'],
    ['documento_id,telefono', 'unknown_field'],
    ['nombre,nombre', 'duplicate_field'],
  ])('rejects fields=%p with %s', (raw, code) => {
    expect(() => parseFieldsParam(raw)).toThrow(expect.objectContaining({ code, status: 400 }));
  });

  it('takes the format from the query, else from the content type', () => {
    expect(resolveFormat('csv', 'application/octet-stream')).toBe('csv');
    expect(resolveFormat(undefined, 'application/x-ndjson; charset=utf-8')).toBe('ndjson');
    expect(resolveFormat(undefined, 'text/csv')).toBe('csv');
    expect(() => resolveFormat(undefined, 'application/octet-stream')).toThrow(expect.objectContaining({ code: 'missing_format' }));
    expect(() => resolveFormat('xlsx', 'text/csv')).toThrow(expect.objectContaining({ code: 'invalid_format' }));
  });

  it('reports a rate once the job has started', () => {
    const startedAt = new Date('2026-01-01T00:00:00Z');
    expect(rowsPerSecond({ rowsDone: 10, startedAt: null, completedAt: null }, new Date())).toBeNull();
    expect(rowsPerSecond({ rowsDone: 5000, startedAt, completedAt: null }, new Date('2026-01-01T00:00:02Z'))).toBe(2500);
  });
});
