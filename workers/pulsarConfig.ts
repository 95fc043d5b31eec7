import type { AppConfig } from '../config/env';

export function pulsarConfig(config: AppConfig) {
  return { webServiceUrl: config.PULSAR_WEB_URL, tenant: config.PULSAR_TENANT, namespace: config.PULSAR_NAMESPACE };
}
