import { PulsarAdminError } from './errors';
import { topicPath } from './topics';
import type { PulsarConfig } from './types';

export interface RetentionPolicy {
  retentionTimeInMinutes: number;
  retentionSizeInMB: number;
}

/**
 * Minimal client for the broker's admin REST API (same port as the WebSocket API): health
 * checks, idempotent provisioning and the few operations tests and operators need. Creation
 * calls treat 409 "already exists" as success so they can run on every start.
 */
export class PulsarAdmin {
  private readonly base: string;

  constructor(
    private readonly config: PulsarConfig,
    private readonly timeoutMs = 10_000,
  ) {
    this.base = config.webServiceUrl.replace(/\/+$/, '');
  }

  /** True when the broker can produce and consume its own health-check topic. */
  async isHealthy(): Promise<boolean> {
    try {
      const body = await this.request('GET', '/admin/v2/brokers/health');
      return body.trim() === 'ok';
    } catch {
      return false;
    }
  }

  // The ensure* calls look before they create: the broker logs every 409 as an ERROR, which
  // would bury real problems in the broker log of a stack that provisions on every start.

  async ensureTenant(tenant = this.config.tenant, allowedClusters = ['standalone']): Promise<void> {
    const path = `/admin/v2/tenants/${encodeURIComponent(tenant)}`;
    if (await this.exists(path)) return;
    await this.request('PUT', path, { allowedClusters, adminRoles: [] }, [409]);
  }

  async ensureNamespace(retention?: RetentionPolicy): Promise<void> {
    const ns = `/admin/v2/namespaces/${encodeURIComponent(this.config.tenant)}/${encodeURIComponent(this.config.namespace)}`;
    if (!(await this.exists(ns))) await this.request('PUT', ns, undefined, [409]);
    if (retention) await this.request('POST', `${ns}/retention`, retention);
  }

  async ensureTopic(topic: string): Promise<void> {
    await this.request('PUT', `/admin/v2/${topicPath(this.config, topic)}`, undefined, [409]);
  }

  /** Creates a durable subscription, so messages published before any consumer connects are kept. */
  /**
   * Creates a durable subscription if absent. `earliest` makes a new subscription see messages
   * published before it existed (within retention); an existing one keeps its position.
   */
  async ensureSubscription(topic: string, subscription: string, from: 'earliest' | 'latest' = 'latest'): Promise<void> {
    const position = from === 'earliest' ? { ledgerId: -1, entryId: -1, partitionIndex: -1 } : undefined;
    await this.request('PUT', `/admin/v2/${topicPath(this.config, topic)}/subscription/${encodeURIComponent(subscription)}`, position, [409]);
  }

  /** Unloads the topic: the broker closes every producer/consumer session on it (they reconnect). */
  async unloadTopic(topic: string): Promise<void> {
    await this.request('PUT', `/admin/v2/${topicPath(this.config, topic)}/unload`);
  }

  async deleteTopic(topic: string, force = true): Promise<void> {
    await this.request('DELETE', `/admin/v2/${topicPath(this.config, topic)}?force=${force}`, undefined, [404]);
  }

  /** Topic stats as the broker returns them (msgInCounter, subscriptions, backlog, ...). */
  async topicStats(topic: string): Promise<Record<string, unknown>> {
    return JSON.parse(await this.request('GET', `/admin/v2/${topicPath(this.config, topic)}/stats`)) as Record<string, unknown>;
  }

  private async exists(path: string): Promise<boolean> {
    try {
      await this.request('GET', path);
      return true;
    } catch (err) {
      if (err instanceof PulsarAdminError && err.status === 404) return false;
      throw err;
    }
  }

  private async request(method: string, path: string, body?: unknown, okStatuses: number[] = []): Promise<string> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new PulsarAdminError(0, method, path, err instanceof Error ? err.message : String(err));
    }
    const text = await res.text();
    if (!res.ok && !okStatuses.includes(res.status)) throw new PulsarAdminError(res.status, method, path, text);
    return text;
  }
}
