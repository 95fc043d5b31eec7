import type { PulsarConfig } from './types';

/**
 * Full persistent topic name. A bare name is placed in the configured tenant/namespace; a name
 * that is already fully qualified is kept, so a dead-letter topic may live elsewhere.
 */
export function fullTopicName(config: PulsarConfig, topic: string): string {
  if (topic.startsWith('persistent://') || topic.startsWith('non-persistent://')) return topic;
  if (topic.includes('/')) throw new Error(`topic must be a bare name or fully qualified: ${topic}`);
  return `persistent://${config.tenant}/${config.namespace}/${topic}`;
}

/** `persistent://t/ns/topic` → `persistent/t/ns/topic`, the form REST and WebSocket paths use. */
export function topicPath(config: PulsarConfig, topic: string): string {
  const full = fullTopicName(config, topic);
  const [domain, rest] = full.split('://') as [string, string];
  return `${domain}/${rest.split('/').map(encodeURIComponent).join('/')}`;
}

/** ws:// (or wss://) twin of the web service URL, without a trailing slash. */
export function webSocketBase(config: PulsarConfig): string {
  return config.webServiceUrl.replace(/\/+$/, '').replace(/^http/, 'ws');
}
