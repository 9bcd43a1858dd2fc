/**
 * Processes that the production-infrastructure tests run beside the stack: API processes (tsx), nginx,
 * redis-server/redis-sentinel, pgbouncer, and certificates made with openssl. Everything binds to
 * 127.0.0.1 on ports picked at run time, lives in a temporary directory, and is stopped by stopAll().
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, eventually } from './harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A port the kernel handed out on 127.0.0.1 just now (listen on 0, read it back, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Managed {
  name: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
}

/** Owns the processes and the temporary directory of one test file. */
export class InfraProcesses {
  readonly dir = mkdtempSync(join(tmpdir(), 'ripcord-infra-'));
  private readonly running = new Set<Managed>();

  constructor() {
    // nginx's workers run as `nobody` and write their temporary files under this directory.
    chmodSync(this.dir, 0o755);
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  write(name: string, text: string): string {
    const path = this.path(name);
    writeFileSync(path, text);
    return path;
  }

  start(name: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Managed {
    const child = spawn(command, args, { cwd: options.cwd ?? this.dir, env: options.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => {
        this.running.delete(managed);
        if (code !== 0 && code !== null && !stopping.has(managed)) process.stderr.write(`[${name}] exited ${code}: ${stderr}\n`);
        resolve(code ?? signal ?? 'unknown');
      });
    });
    const managed: Managed = { name, child, exited };
    child.once('error', (error) => process.stderr.write(`[${name}] ${error.message}\n`));
    this.running.add(managed);
    return managed;
  }

  /** Sends `signal` and waits (bounded) for the exit; SIGKILL after the bound. */
  async stop(managed: Managed, signal: NodeJS.Signals = 'SIGTERM', boundMs = 30_000): Promise<number | string> {
    if (managed.child.exitCode !== null || managed.child.signalCode !== null) return managed.exited;
    stopping.add(managed);
    managed.child.kill(signal);
    const timer = setTimeout(() => managed.child.kill('SIGKILL'), boundMs);
    try {
      return await managed.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops everything still running (even after a failure) and removes the directory. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((managed) => this.stop(managed, 'SIGTERM', 10_000)));
    // RIPCORD_KEEP_INFRA_LOGS=1 keeps the directory (configs and logs) to look at after a failure.
    if (!process.env.RIPCORD_KEEP_INFRA_LOGS) rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * `node --import tsx src/main/api.ts` on a given port; resolves once /readyz answers 200. Not the
   * `tsx` CLI: it relays SIGTERM to its child and SIGKILLs a child that has not acknowledged within
   * 30 ms, which a busy process misses, so no graceful stop could be tested (or run) under it.
   */
  async startApi(port: number, env: Record<string, string>, name = `api:${port}`): Promise<Managed> {
    const managed = this.start(name, process.execPath, ['--import', 'tsx', 'src/main/api.ts'], {
      cwd: root,
      env: { ...process.env, PORT: String(port), RIPCORD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn', ...env },
    });
    await eventually(async () => {
      if (managed.child.exitCode !== null) throw new Error(`${name} exited with ${managed.child.exitCode}`);
      return (await httpCall(port, 'GET', '/readyz').catch(() => ({ status: 0 }))).status === 200;
    }, `${name} to be ready`, 60_000);
    return managed;
  }

  /** nginx in the foreground with a config of ours (the `http`/`stream` blocks given), logs in the directory. */
  async startNginx(name: string, blocks: string, waitForPort: number): Promise<Managed> {
    mkdirSync(this.path(`${name}-temp`), { recursive: true });
    const temp = this.path(`${name}-temp`);
    const conf = this.write(`${name}.conf`, `
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
worker_processes 1;
pid ${this.path(`${name}.pid`)};
error_log ${this.path(`${name}-error.log`)} warn;
events { worker_connections 1024; }
${blocks.replaceAll('@TEMP@', temp)}
`);
    const managed = this.start(name, 'nginx', ['-e', this.path(`${name}-error.log`), '-c', conf, '-p', this.dir]);
    await eventually(async () => {
      if (managed.child.exitCode !== null) throw new Error(`${name} exited with ${managed.child.exitCode}`);
      return portAccepts(waitForPort);
    }, `${name} to listen on ${waitForPort}`, 15_000);
    return managed;
  }
}

const stopping = new WeakSet<Managed>();

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(port);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const createConnection = (port: number) => netConnect({ host: '127.0.0.1', port });

/** One HTTP call on its own connection; resolves with status and body text (rejects on network errors). */
export function httpCall(port: number, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** An OFREP evaluation of `key` for one targeting key. */
export function evaluateOnce(port: number, key: string): ReturnType<typeof httpCall> {
  return httpCall(port, 'POST', `/ofrep/v1/evaluate/flags/${key}`, '{"context":{"targetingKey":"user-1"}}', {
    authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json',
  });
}

export interface LoadFigures {
  requests: number;
  failures: number;
  /** What the failures were (status or error), at most a few. */
  failureSamples: string[];
  maxLatencyMs: number;
  /** Successful answers per upstream, when a load balancer names it in `X-Upstream` (the last one it tried). */
  servedBy: Record<string, number>;
}

/**
 * Constant evaluation load: `concurrency` loops, each one OFREP call after another on a fresh
 * connection, until stop() or `maxMs` (a bound whatever happens). A call fails unless it answers 200
 * with the expected value.
 */
export function evaluationLoad(port: number, key: string, expect: (text: string) => boolean, options: { concurrency?: number; maxMs?: number } = {}) {
  const figures: LoadFigures = { requests: 0, failures: 0, failureSamples: [], maxLatencyMs: 0, servedBy: {} };
  const deadline = Date.now() + (options.maxMs ?? 120_000);
  let stopped = false;
  const loop = async () => {
    while (!stopped && Date.now() < deadline) {
      const started = performance.now();
      let problem: string | undefined;
      try {
        const answer = await evaluateOnce(port, key);
        if (answer.status !== 200 || !expect(answer.text)) problem = `${answer.status} ${answer.text.slice(0, 120)}`;
        const upstream = String(answer.headers['x-upstream'] ?? '').split(', ').at(-1);
        if (!problem && upstream) figures.servedBy[upstream] = (figures.servedBy[upstream] ?? 0) + 1;
      } catch (error) {
        problem = (error as Error).message;
      }
      figures.requests++;
      figures.maxLatencyMs = Math.max(figures.maxLatencyMs, performance.now() - started);
      if (problem) {
        figures.failures++;
        if (figures.failureSamples.length < 5) figures.failureSamples.push(problem);
      }
    }
  };
  const loops = Promise.all(Array.from({ length: options.concurrency ?? 4 }, loop));
  return {
    figures,
    async stop(): Promise<LoadFigures> {
      stopped = true;
      await loops;
      figures.maxLatencyMs = Math.round(figures.maxLatencyMs);
      return figures;
    },
  };
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, made by openssl. */
export function makeCertificates(dir: string, serverName = 'localhost'): { ca: string; caKey: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string; strangerCert: string; strangerKey: string } {
  const p = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const issue = (name: string, subject: string, ca: { cert: string; key: string }, ext: string) => {
    openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p(`${name}.key`), '-subj', subject, '-out', p(`${name}.csr`));
    writeFileSync(p(`${name}.ext`), ext);
    openssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-extfile', p(`${name}.ext`), '-out', p(`${name}.pem`));
  };
  const selfSigned = (name: string, subject: string) =>
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p(`${name}.key`), '-subj', subject, '-days', '2', '-out', p(`${name}.pem`));
  selfSigned('ca', '/CN=ripcord test CA');
  selfSigned('stranger-ca', '/CN=some other CA');
  const ca = { cert: p('ca.pem'), key: p('ca.key') };
  // Named only by DNS name: a client that dials 127.0.0.1 must be told the server name to verify.
  issue('server', `/CN=${serverName}`, ca, `subjectAltName=DNS:${serverName}\nextendedKeyUsage=serverAuth\n`);
  issue('client', '/CN=ripcord worker', ca, 'extendedKeyUsage=clientAuth\n');
  issue('stranger', '/CN=intruder', { cert: p('stranger-ca.pem'), key: p('stranger-ca.key') }, 'extendedKeyUsage=clientAuth\n');
  return {
    ca: ca.cert, caKey: ca.key, serverCert: p('server.pem'), serverKey: p('server.key'),
    clientCert: p('client.pem'), clientKey: p('client.key'), strangerCert: p('stranger.pem'), strangerKey: p('stranger.key'),
  };
}
