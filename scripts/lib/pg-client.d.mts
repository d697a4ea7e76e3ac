import type { Client, ClientConfig } from 'pg'
export function connectClient(config: ClientConfig): Promise<Client>
