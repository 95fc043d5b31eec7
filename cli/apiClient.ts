import fs from 'node:fs';
import { Readable } from 'node:stream';
import type { ProgressView } from './progress';

export interface JobStatus {
  jobId: string;
  state: string;
  statusUrl: string;
  outputUrl: string;
  totalRows: number;
  error: string | null;
  progress: Omit<ProgressView, 'state'>;
}

/** An answer other than the expected status, with the API's machine-readable error. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

/** The few calls the CLI makes to the SaludTech API. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  /** Streams FILE as the request body (never read into memory); `onBytes` sees the upload advance. */
  async submitJob(file: string, opts: { keyring: string; fields: string; format: 'ndjson' | 'csv'; idempotencyKey?: string }, onBytes?: (sent: number, total: number) => void): Promise<JobStatus> {
    const total = (await fs.promises.stat(file)).size;
    let sent = 0;
    const source = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
    source.on('data', (chunk) => {
      sent += chunk.length;
      onBytes?.(sent, total);
    });
    const headers: Record<string, string> = {
      ...this.auth(),
      'content-type': opts.format === 'csv' ? 'text/csv' : 'application/x-ndjson',
      'content-length': String(total),
    };
    if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
    const query = new URLSearchParams({ fields: opts.fields, format: opts.format });
    const res = await fetch(`${this.baseUrl}/v1/keyrings/${encodeURIComponent(opts.keyring)}/jobs?${query}`, {
      method: 'POST',
      headers,
      body: Readable.toWeb(source) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    return (await this.json(res, 202)) as JobStatus;
  }

  async status(jobId: string): Promise<JobStatus> {
    return (await this.json(await fetch(`${this.baseUrl}/v1/jobs/${encodeURIComponent(jobId)}`, { headers: this.auth() }), 200)) as JobStatus;
  }

  /** The output file as a stream (the API answers 409 until the job is completed). */
  async output(jobId: string): Promise<ReadableStream<Uint8Array>> {
    const res = await fetch(`${this.baseUrl}/v1/jobs/${encodeURIComponent(jobId)}/output`, { headers: this.auth() });
    if (res.status !== 200 || !res.body) await this.json(res, 200);
    return res.body!;
  }

  private auth(): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}` };
  }

  private async json(res: Response, expected: number): Promise<unknown> {
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: reported below with the status
    }
    if (res.status !== expected) {
      const error = (body as { error?: { code?: string; message?: string; line?: number } } | null)?.error;
      throw new ApiError(res.status, error?.code ?? `http_${res.status}`, error?.message ?? `The API answered ${res.status}.`, error?.line);
    }
    return body;
  }
}
