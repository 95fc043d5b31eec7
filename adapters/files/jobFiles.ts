import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createScanner, type DatasetFormat, type ScanSummary } from '../../domain/datasetFormats';
import { ChunkPlanner, type ChunkPlan, type ChunkSpec } from '../../domain/datasetJob';
import { DomainError } from '../../domain/errors';

/** The upload is larger than the configured limit. */
export class UploadTooLargeError extends DomainError {
  readonly status = 413;
  constructor(limit: number) {
    super('payload_too_large', `Dataset uploads are limited to ${limit} bytes.`);
  }
}

/**
 * Job storage under JOBS_DIR, one directory per job:
 *
 *   <jobId>/input          the upload, exactly as received (validated while streaming)
 *   <jobId>/plan.json      the chunk plan (byte ranges of whole rows)
 *   <jobId>/part-<index>   a tokenized chunk
 *   <jobId>/output         the parts concatenated in order (the CSV header first)
 *
 * Every file that others rely on appears atomically: written to a temporary name,
 * fsynced, renamed, and the directory fsynced. A crash leaves either the old state
 * or the new, never a half-written file under its final name.
 */
export class JobFiles {
  constructor(readonly root: string) {}

  dir(jobId: string): string {
    return path.join(this.root, jobId);
  }
  inputPath(jobId: string): string {
    return path.join(this.dir(jobId), 'input');
  }
  outputPath(jobId: string): string {
    return path.join(this.dir(jobId), 'output');
  }
  private planPath(jobId: string): string {
    return path.join(this.dir(jobId), 'plan.json');
  }
  private partPath(jobId: string, index: number): string {
    return path.join(this.dir(jobId), `part-${index}`);
  }

  /**
   * Streams an upload to `<jobId>/input`, validating it on the way (the scanner throws
   * at the first structural error). On any failure the partial file is removed.
   */
  async receive(jobId: string, body: Readable, format: DatasetFormat, fields: readonly string[], maxBytes: number): Promise<ScanSummary> {
    const dir = this.dir(jobId);
    await fsp.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, 'input.partial');
    const file = await fsp.open(tmp, 'wx');
    const scanner = createScanner(format, fields);
    let bytes = 0;
    try {
      // destroyOnReturn false: on a validation error the request must stay usable for the 400 answer.
      for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > maxBytes) throw new UploadTooLargeError(maxBytes);
        scanner.push(chunk);
        await file.write(chunk);
      }
      const summary = scanner.end();
      await file.sync();
      await file.close();
      await fsp.rename(tmp, this.inputPath(jobId));
      await syncDir(dir);
      return summary;
    } catch (err) {
      await file.close().catch(() => undefined);
      await this.discard(jobId);
      throw err;
    }
  }

  async discard(jobId: string): Promise<void> {
    await fsp.rm(this.dir(jobId), { recursive: true, force: true });
  }

  /** The chunk plan, computed once by scanning the input and then kept (idempotent). */
  async plan(jobId: string, format: DatasetFormat, fields: readonly string[], chunkRows: number, onProgress?: (bytes: number) => void): Promise<ChunkPlan> {
    const existing = await readJson<ChunkPlan>(this.planPath(jobId));
    if (existing) return existing;
    const planner = new ChunkPlanner(chunkRows);
    const scanner = createScanner(format, fields, (start, end) => planner.addRow(start, end));
    let bytes = 0;
    for await (const chunk of fs.createReadStream(this.inputPath(jobId), { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      scanner.push(chunk);
      bytes += chunk.length;
      onProgress?.(bytes);
    }
    const summary = scanner.end();
    const plan: ChunkPlan = { format, dataStart: summary.dataStart, totalRows: summary.rows, chunks: planner.finish() };
    await writeFileAtomic(this.planPath(jobId), JSON.stringify(plan));
    return plan;
  }

  async readPlan(jobId: string): Promise<ChunkPlan> {
    const plan = await readJson<ChunkPlan>(this.planPath(jobId));
    if (!plan) throw new Error(`job ${jobId} has no chunk plan`);
    return plan;
  }

  async readRange(jobId: string, start: number, end: number): Promise<Buffer> {
    const file = await fsp.open(this.inputPath(jobId), 'r');
    try {
      const buf = Buffer.allocUnsafe(end - start);
      let read = 0;
      while (read < buf.length) {
        const { bytesRead } = await file.read(buf, read, buf.length - read, start + read);
        if (bytesRead === 0) throw new Error(`job ${jobId}: input ends before byte ${end}`);
        read += bytesRead;
      }
      return buf;
    } finally {
      await file.close();
    }
  }

  async writePart(jobId: string, chunk: ChunkSpec, text: string): Promise<void> {
    await writeFileAtomic(this.partPath(jobId, chunk.index), text);
  }

  /**
   * Concatenates the header bytes and every part, in order, into `output` (atomically),
   * then removes the parts. Idempotent: if the output is already in place it is kept.
   */
  async assemble(jobId: string, plan: ChunkPlan, onProgress?: (index: number) => void): Promise<{ path: string; bytes: number }> {
    const out = this.outputPath(jobId);
    const done = await fsp.stat(out).catch(() => null);
    if (done) return { path: out, bytes: done.size };
    const tmp = `${out}.${randomUUID()}.tmp`;
    const file = await fsp.open(tmp, 'w');
    try {
      if (plan.dataStart > 0) await file.write(await this.readRange(jobId, 0, plan.dataStart));
      for (const chunk of plan.chunks) {
        for await (const buf of fs.createReadStream(this.partPath(jobId, chunk.index), { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) await file.write(buf);
        onProgress?.(chunk.index);
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await fsp.rename(tmp, out);
    await syncDir(this.dir(jobId));
    await Promise.all(plan.chunks.map((c) => fsp.rm(this.partPath(jobId, c.index), { force: true })));
    return { path: out, bytes: (await fsp.stat(out)).size };
  }

  openOutput(jobId: string): { stream: fs.ReadStream; bytes: Promise<number> } {
    const out = this.outputPath(jobId);
    return { stream: fs.createReadStream(out), bytes: fsp.stat(out).then((s) => s.size) };
  }
}

export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${randomUUID()}.tmp`;
  const handle = await fsp.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(tmp, file);
  await syncDir(path.dirname(file));
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
