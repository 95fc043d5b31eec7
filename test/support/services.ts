import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

export const ROOT = path.resolve(__dirname, '..', '..');
const run = promisify(execFile);

/**
 * One of the project's real processes (API, HSM worker, token worker), started
 * the way an operator would, with its JSON log lines kept for assertions.
 */
export class ServiceProcess {
  readonly lines: string[] = [];
  private exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(line);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  static async start(name: string, script: string, env: Record<string, string>, ready: RegExp, timeoutMs = 60_000): Promise<ServiceProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new ServiceProcess(name, child);
    try {
      await proc.waitForLine(ready, timeoutMs);
    } catch (err) {
      await proc.stop();
      throw err;
    }
    return proc;
  }

  async waitForLine(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const started = Date.now();
    for (;;) {
      const hit = this.lines.find((l) => pattern.test(l));
      if (hit) return hit;
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited (${this.child.exitCode}) before logging ${pattern}:\n${this.tail()}`);
      if (Date.now() - started > timeoutMs) throw new Error(`${this.name} did not log ${pattern} within ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(100);
    }
  }

  /** Crash without any chance to clean up, as a power loss or OOM kill would. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  tail(n = 30): string {
    return this.lines.slice(-n).join('\n');
  }
}

export interface AppServices {
  apiUrl: string;
  api: ServiceProcess;
  hsmWorker: ServiceProcess | null;
  tokenWorker: ServiceProcess | null;
  stop(): Promise<void>;
}

export const READY = {
  api: /Server listening/,
  hsmWorker: /hsm worker ready/,
  tokenWorker: /token worker ready/,
};

export function startApi(port: number, env: Record<string, string> = {}): Promise<ServiceProcess> {
  return ServiceProcess.start('api', 'api/main.ts', { PORT: String(port), ...env }, READY.api);
}

export function startHsmWorker(env: Record<string, string> = {}): Promise<ServiceProcess> {
  return ServiceProcess.start('hsm-worker', 'workers/hsmWorker.ts', env, READY.hsmWorker, 120_000);
}

export function startTokenWorker(env: Record<string, string> = {}): Promise<ServiceProcess> {
  return ServiceProcess.start('token-worker', 'workers/tokenWorker.ts', env, READY.tokenWorker);
}

export async function startAll(port: number, opts: { tokenWorker?: boolean } = {}): Promise<AppServices> {
  const api = await startApi(port);
  const hsmWorker = await startHsmWorker();
  const tokenWorker = opts.tokenWorker === false ? null : await startTokenWorker();
  const services: AppServices = {
    apiUrl: `http://127.0.0.1:${port}`,
    api,
    hsmWorker,
    tokenWorker,
    async stop() {
      await Promise.all([services.tokenWorker?.stop(), services.hsmWorker?.stop(), api.stop()]);
    },
  };
  return services;
}

/** Runs one of the stack scripts, e.g. stack('down.sh', 'temporal'). */
export async function stack(script: string, ...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('bash', [path.join(ROOT, 'scripts', 'stack', script), ...args], { cwd: ROOT, timeout: 300_000 });
  return stdout + stderr;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function uniqueKeyring(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}
