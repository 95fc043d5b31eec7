/**
 * `saludtech` — command-line client of the SaludTech tokenization API.
 *
 *   saludtech jobs submit FILE --keyring K --fields a,b [--format csv|ndjson] [--idempotency-key X] [--no-wait]
 *   saludtech jobs status ID
 *   saludtech jobs output ID > file
 *
 * Common options: --api URL (or SALUDTECH_API_URL; default http://127.0.0.1:3000),
 * --key KEY (or SALUDTECH_API_KEY). Progress goes to stderr (a bar on a terminal,
 * lines otherwise); results go to stdout. Exit codes: 0 done, 1 failed, 2 usage.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { ApiClient, ApiError, type JobStatus } from './apiClient';
import { progressBar, progressLine, type ProgressView } from './progress';

const USAGE = `Usage:
  saludtech jobs submit FILE --keyring K --fields a,b [--format csv|ndjson] [--idempotency-key X] [--no-wait]
  saludtech jobs status ID
  saludtech jobs output ID > file
Options: --api URL (env SALUDTECH_API_URL, default http://127.0.0.1:3000), --key KEY (env SALUDTECH_API_KEY)`;

class UsageError extends Error {}

const POLL_MS = 1_000;
const LINE_EVERY_MS = 10_000;

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      api: { type: 'string' },
      key: { type: 'string' },
      keyring: { type: 'string' },
      fields: { type: 'string' },
      format: { type: 'string' },
      'idempotency-key': { type: 'string' },
      'no-wait': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [group, command, arg] = positionals;
  if (values.help || group !== 'jobs' || !command) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const key = values.key ?? env.SALUDTECH_API_KEY;
  if (!key) throw new UsageError('No API key: pass --key or set SALUDTECH_API_KEY.');
  const api = new ApiClient((values.api ?? env.SALUDTECH_API_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, ''), key);
  if (!arg) throw new UsageError(`jobs ${command} needs ${command === 'submit' ? 'a FILE' : 'a job ID'}.`);

  switch (command) {
    case 'submit': {
      if (!values.keyring || !values.fields) throw new UsageError('jobs submit needs --keyring and --fields.');
      const format = values.format ?? formatFromName(arg);
      if (format !== 'csv' && format !== 'ndjson') throw new UsageError('Say --format csv or --format ndjson (or name the file .csv / .ndjson / .jsonl).');
      const job = await api.submitJob(arg, { keyring: values.keyring, fields: values.fields, format, idempotencyKey: values['idempotency-key'] }, uploadReporter());
      process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}submitted job ${job.jobId} (${job.totalRows.toLocaleString('en')} rows)\n`);
      if (values['no-wait']) {
        process.stdout.write(`${job.jobId}\n`);
        return 0;
      }
      return follow(api, job.jobId);
    }
    case 'status':
      process.stdout.write(`${JSON.stringify(await api.status(arg), null, 2)}\n`);
      return 0;
    case 'output':
      await pipeline(Readable.fromWeb(await api.output(arg) as import('node:stream/web').ReadableStream), process.stdout);
      return 0;
    default:
      throw new UsageError(`Unknown command "jobs ${command}".`);
  }
}

/** Polls the job until it completes or fails, showing progress on stderr. */
async function follow(api: ApiClient, jobId: string): Promise<number> {
  const tty = process.stderr.isTTY === true;
  let lastLine = 0;
  let lastText = '';
  for (;;) {
    const job: JobStatus = await api.status(jobId);
    const view: ProgressView = { state: job.state, ...job.progress };
    if (tty) process.stderr.write(`\r\x1b[K${progressBar(view, Math.max(10, Math.min(40, (process.stderr.columns ?? 80) - 70)))}`);
    else {
      const text = progressLine(view);
      if (text !== lastText && (Date.now() - lastLine >= LINE_EVERY_MS || job.state !== 'running')) {
        process.stderr.write(`${text}\n`);
        lastLine = Date.now();
        lastText = text;
      }
    }
    if (job.state === 'completed') {
      if (tty) process.stderr.write('\n');
      process.stderr.write(`job ${jobId} completed: ${job.progress.rowsDone.toLocaleString('en')} rows, ${job.progress.rowsFailed} with a field that failed normalisation (written as null)\n`);
      process.stdout.write(`${api.baseUrl}${job.outputUrl}\n`);
      return 0;
    }
    if (job.state === 'failed') {
      if (tty) process.stderr.write('\n');
      process.stderr.write(`job ${jobId} failed: ${job.error ?? 'unknown error'}\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function uploadReporter(): ((sent: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (sent, total) => {
    if (Date.now() - last < 200 && sent < total) return;
    last = Date.now();
    process.stderr.write(`\r\x1b[Kuploading ${(sent / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`);
  };
}

function formatFromName(file: string): string | undefined {
  const ext = path.extname(file).toLowerCase();
  return ext === '.csv' ? 'csv' : ext === '.ndjson' || ext === '.jsonl' ? 'ndjson' : undefined;
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (err instanceof UsageError) {
      process.stderr.write(`saludtech: ${err.message}\n${USAGE}\n`);
      process.exit(2);
    }
    if (err instanceof ApiError) {
      process.stderr.write(`saludtech: ${err.message} (${err.code}, HTTP ${err.status}${err.line ? `, line ${err.line}` : ''})\n`);
      process.exit(1);
    }
    const e = err as Error & { code?: string; cause?: { code?: string } };
    const code = e.cause?.code ?? e.code;
    process.stderr.write(`saludtech: ${code === 'ECONNREFUSED' ? 'cannot reach the API (is it running? --api URL)' : e.message}\n`);
    process.exit(1);
  },
);
