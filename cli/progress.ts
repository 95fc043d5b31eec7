/** Rendering of a job's progress for the CLI: a bar on a terminal, plain lines otherwise. */
export interface ProgressView {
  state: string;
  rowsDone: number;
  totalRows: number;
  rowsFailed: number;
  rowsPerSecond: number | null;
}

const fmt = (n: number) => n.toLocaleString('en');

export function percent(p: ProgressView): number {
  return p.totalRows > 0 ? Math.floor((p.rowsDone / p.totalRows) * 100) : 0;
}

/** `[██████░░░░░░] 45%  45,000/100,000 rows  9,500 rows/s  running` */
export function progressBar(p: ProgressView, width = 30): string {
  const filled = Math.round((percent(p) / 100) * width);
  const rate = p.rowsPerSecond === null ? '' : `  ${fmt(p.rowsPerSecond)} rows/s`;
  const failed = p.rowsFailed > 0 ? `  ${fmt(p.rowsFailed)} with failed fields` : '';
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(percent(p)).padStart(3)}%  ${fmt(p.rowsDone)}/${fmt(p.totalRows)} rows${rate}${failed}  ${p.state}`;
}

/** One line per report, for logs and CI: `progress 45% rows=45000/100000 rate=9500/s state=running`. */
export function progressLine(p: ProgressView): string {
  return `progress ${percent(p)}% rows=${p.rowsDone}/${p.totalRows} failed=${p.rowsFailed} rate=${p.rowsPerSecond ?? '-'}/s state=${p.state}`;
}
