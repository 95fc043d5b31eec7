import { Client, Connection } from '@temporalio/client';

export interface TemporalClientConfig {
  address: string;
  namespace: string;
}

export async function connectTemporalClient(config: TemporalClientConfig): Promise<Client> {
  const connection = await Connection.connect({ address: config.address, connectTimeout: '10 seconds' });
  return new Client({ connection, namespace: config.namespace });
}
