import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config.js';
import { temporalConnectionOptions } from '../../src/connections/temporal.js';
import { createLogger } from '../../src/logger.js';
import { startWorkerProcess } from '../../src/main/worker-process.js';
import { eventually, startedWorkflow, sharedBundle, startStack, uniqueKey, type Stack } from './harness.js';
import { evaluateOnce, freePort, InfraProcesses, makeCertificates } from './infra-processes.js';
import { createFlag, onForEveryone } from './serving-helpers.js';

/**
 * Temporal over TLS for real. The stack's Temporal dev server sits behind Debian's nginx:
 * its stream module terminates TLS and demands a client certificate from our CA (mTLS, as a
 * self-hosted cluster would), and an http2 server proxies gRPC only for requests carrying the
 * right API key (as Temporal Cloud's API keys do). The API's client and the worker both connect
 * through it and a kill-switch workflow runs end to end.
 */
const procs = new InfraProcesses();
const SERVER_NAME = 'temporal.ripcord.test';
let certs: ReturnType<typeof makeCertificates>;
let mtlsPort = 0;
let apiKeyPort = 0;
let stack: Stack | undefined;
const temporalTarget = () => process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';

beforeAll(async () => {
  certs = makeCertificates(procs.dir, SERVER_NAME);
  mtlsPort = await freePort();
  apiKeyPort = await freePort();
  await procs.startNginx('temporal-tls', `
stream {
  log_format tls '$ssl_client_verify "$ssl_client_s_dn" $status $bytes_received';
  access_log ${procs.path('temporal-mtls.log')} tls;
  server {
    listen 127.0.0.1:${mtlsPort} ssl;
    ssl_certificate ${certs.serverCert};
    ssl_certificate_key ${certs.serverKey};
    ssl_client_certificate ${certs.ca};
    ssl_verify_client on;
    ssl_alpn h2;
    proxy_pass ${temporalTarget()};
  }
}
http {
  access_log off;
  client_body_temp_path @TEMP@/body;
  proxy_temp_path @TEMP@/proxy;
  fastcgi_temp_path @TEMP@/fastcgi;
  uwsgi_temp_path @TEMP@/uwsgi;
  scgi_temp_path @TEMP@/scgi;
  server {
    listen 127.0.0.1:${apiKeyPort} ssl http2;
    ssl_certificate ${certs.serverCert};
    ssl_certificate_key ${certs.serverKey};
    location / {
      if ($http_authorization != "Bearer cloud-api-key-for-tests") {
        add_header grpc-status 16 always;
        add_header grpc-message "missing or wrong API key" always;
        return 204;
      }
      grpc_pass grpc://${temporalTarget()};
    }
  }
}`, mtlsPort);
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await procs.stopAll();
});

const mtlsLog = () => readFileSync(procs.path('temporal-mtls.log'), 'utf8').trim().split('\n').filter(Boolean);

const mtlsEnv = () => ({
  TEMPORAL_ADDRESS: `127.0.0.1:${mtlsPort}`,
  TEMPORAL_TLS_CA: certs.ca,
  TEMPORAL_TLS_CERT: certs.clientCert,
  TEMPORAL_TLS_KEY: certs.clientKey,
  TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
});

describe('Temporal over TLS', () => {
  it('runs a kill-switch workflow with the API client and the worker both connected over mTLS', async () => {
    stack = await startStack(mtlsEnv());
    const key = uniqueKey('tls-kill');
    await createFlag(stack, key, onForEveryone);
    const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'over mTLS' } });
    expect(kill.status).toBe(201);
    expect(kill.body.workflow.status).toBe('starting');
    const outcome = await (await startedWorkflow(stack.temporal, kill.body.workflow.id)).result();
    expect(outcome).toMatchObject({ convergence: { converged: true } });
    expect(JSON.parse((await evaluateOnce(stack.api.port, key)).text)).toMatchObject({ value: false, reason: 'DISABLED' });
    const ready = await stack.request('GET', '/readyz');
    expect(ready.body.checks.temporal).toEqual({ status: 'ok' });
    // Everything went through the proxy with our client certificate: nginx logs each TLS session when
    // it ends, so close the stack's connections first (sessions with no bytes are the port probes).
    await stack.close();
    stack = undefined;
    const sessions = await eventually(async () => {
      const lines = mtlsLog().filter((line) => !line.endsWith(' 0'));
      return lines.length >= 3 ? lines : undefined;
    }, 'nginx to log the API client\'s, the worker\'s and the test client\'s TLS sessions');
    for (const line of sessions) expect(line).toMatch(/^SUCCESS "CN=ripcord worker" 200 \d+$/);
  }, 90_000);

  it('refuses a client certificate from another CA, and none at all, with a clear error', async () => {
    const { TEMPORAL_TLS_CERT: _cert, TEMPORAL_TLS_KEY: _key, ...withoutClientCert } = mtlsEnv();
    const strangerEnv = { ...mtlsEnv(), TEMPORAL_TLS_CERT: certs.strangerCert, TEMPORAL_TLS_KEY: certs.strangerKey };
    const sessionsBefore = mtlsLog().length;
    // The worker says where it tried to connect and how, so the operator sees which setting to check.
    const startWorker = async (env: Record<string, string>) => {
      const config = loadConfig({ ...process.env, ...env, TEMPORAL_TASK_QUEUE: uniqueKey('tls-refused'), LOG_LEVEL: 'silent' });
      return startWorkerProcess(config, createLogger('silent', 'test'), await sharedBundle());
    };
    const where = `cannot connect to Temporal at 127\\.0\\.0\\.1:${mtlsPort} \\(TLS: CA from TEMPORAL_TLS_CA`;
    await expect(startWorker(strangerEnv)).rejects.toThrow(new RegExp(`^${where}, client certificate from TEMPORAL_TLS_CERT, server name ${SERVER_NAME.replaceAll('.', '\\.')}\\): .*(transport|connection|handshake|certificate)`, 'i'));
    await expect(startWorker(withoutClientCert)).rejects.toThrow(new RegExp(`^${where}, no client certificate, server name`));
    // The API's client (grpc-js) is refused too.
    for (const env of [strangerEnv, withoutClientCert]) {
      const connection = await Connection.connect({ ...temporalConnectionOptions(loadConfig(env)), connectTimeout: 3_000 }).catch((error: Error) => error);
      expect(connection).toBeInstanceOf(Error);
    }
    // And nginx says why: the certificate was not verified (or none was sent).
    const refused = await eventually(async () => {
      const lines = mtlsLog().slice(sessionsBefore).filter((line) => !line.startsWith('SUCCESS'));
      return lines.length >= 2 ? lines : undefined;
    }, 'nginx to log the refused sessions');
    expect(refused).toEqual(expect.arrayContaining([expect.stringMatching(/^FAILED:unable to verify the first certificate "CN=intruder"/), expect.stringMatching(/^NONE "-"/)]));
    expect(refused.filter((line) => line.startsWith('SUCCESS'))).toEqual([]);
  }, 60_000);

  it('connects with a Temporal Cloud style API key, and a wrong key is refused', async () => {
    const base = { TEMPORAL_ADDRESS: `127.0.0.1:${apiKeyPort}`, TEMPORAL_TLS_CA: certs.ca, TEMPORAL_TLS_SERVER_NAME: SERVER_NAME };
    const good = await Connection.connect(temporalConnectionOptions(loadConfig({ ...base, TEMPORAL_API_KEY: 'cloud-api-key-for-tests' })));
    try {
      const info = await good.workflowService.getSystemInfo({});
      expect(info.capabilities).toBeTruthy();
    } finally {
      await good.close();
    }
    const wrong = await Connection.connect(temporalConnectionOptions(loadConfig({ ...base, TEMPORAL_API_KEY: 'not-the-key' }))).catch((error: Error) => error);
    expect(wrong).toBeInstanceOf(Error);
    expect(String((wrong as Error).cause)).toMatch(/16 UNAUTHENTICATED: missing or wrong API key/);
  }, 60_000);
});
