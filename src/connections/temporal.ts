import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from '../config.js';

/** How to reach Temporal; both the API's client (Connection) and the worker (NativeConnection) take it. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

type TemporalSettings = Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_TLS' | 'TEMPORAL_TLS_CA' | 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY' | 'TEMPORAL_TLS_SERVER_NAME' | 'TEMPORAL_API_KEY'>;

/**
 * TLS is on when asked for, or when a CA, client certificate, server name or API key is set
 * (Temporal Cloud takes API keys over TLS only). Certificates are read when connecting, so a
 * restarted process picks up rotated files.
 */
export function temporalConnectionOptions(config: TemporalSettings): TemporalConnectionOptions {
  const implied = Boolean(config.TEMPORAL_TLS_CA || config.TEMPORAL_TLS_CERT || config.TEMPORAL_TLS_SERVER_NAME || config.TEMPORAL_API_KEY);
  const tlsOn = config.TEMPORAL_TLS === 'on' || (config.TEMPORAL_TLS !== 'off' && implied);
  const tls: TLSConfig | undefined = tlsOn
    ? {
      ...(config.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: config.TEMPORAL_TLS_SERVER_NAME } : {}),
      ...(config.TEMPORAL_TLS_CA ? { serverRootCACertificate: readFileSync(config.TEMPORAL_TLS_CA) } : {}),
      ...(config.TEMPORAL_TLS_CERT && config.TEMPORAL_TLS_KEY
        ? { clientCertPair: { crt: readFileSync(config.TEMPORAL_TLS_CERT), key: readFileSync(config.TEMPORAL_TLS_KEY) } }
        : {}),
    }
    : undefined;
  return {
    address: config.TEMPORAL_ADDRESS,
    ...(tls ? { tls } : {}),
    ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY } : {}),
  };
}

/** For start-up errors: where and how this process connects (never the key or certificate contents). */
export function describeTemporal(options: TemporalConnectionOptions): string {
  if (!options.tls) return `${options.address} (plain text)`;
  const parts = [
    options.tls.serverRootCACertificate ? 'CA from TEMPORAL_TLS_CA' : 'system CAs',
    options.tls.clientCertPair ? 'client certificate from TEMPORAL_TLS_CERT' : 'no client certificate',
    ...(options.tls.serverNameOverride ? [`server name ${options.tls.serverNameOverride}`] : []),
    ...(options.apiKey ? ['API key'] : []),
  ];
  return `${options.address} (TLS: ${parts.join(', ')})`;
}
