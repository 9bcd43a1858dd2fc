import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, type WriteStream } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scratchDatabase, type ScratchDatabase } from '../../integration/scratch-db.js';
import { FaultProxy } from './fault-proxy.js';
import { LoadBalancer } from './load-balancer.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
export const FLEET_ADMIN_TOKEN = 'chaos-fleet-admin-token';
export const FLEET_DATABASE = 'ripcord_chaos_test';

export type Dependency = 'redis' | 'postgres' | 'temporal';
const DEPENDENCIES: Dependency[] = ['redis', 'postgres', 'temporal'];

export interface FleetProcess {
  name: string;
  kind: 'api' | 'worker';
  child: ChildProcess;
  /** The API's port (APIs only). */
  port: number;
}

export interface FleetOptions {
  apis?: number;
  workers?: number;
  /** MAX_SNAPSHOT_LAG_SECONDS of the API processes. */
  maxLagSeconds?: number;
  /** Extra environment for every process (e.g. a fake Slack). */
  env?: Record<string, string>;
  /** Where process logs go (a temporary directory by default). */
  logDir?: string;
  logLevel?: string;
  /** The fleet's own database on the stack's PostgreSQL (dropped and created afresh). */
  database?: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function until(probe: () => Promise<boolean>, what: string, timeoutMs: number, failed?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const failure = failed?.();
    if (failure) throw new Error(failure);
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * A fleet on one machine, all on loopback: its own redis-server (so it can be killed and restarted
 * empty), its own database on the stack's PostgreSQL, the stack's Temporal (its own task queue),
 * N API processes behind a load balancer and M workers. Every process reaches every dependency
 * through a FaultProxy of its own (`link('api-1', 'redis')`), so faults are injected per link.
 * It starts and stops only what it owns.
 */
export class Fleet {
  readonly proxies = new Map<string, FaultProxy>();
  readonly processes: FleetProcess[] = [];
  readonly lb = new LoadBalancer();
  readonly taskQueue = `ripcord-chaos-${randomUUID().slice(0, 8)}`;
  readonly logDir: string;
  redisPort = 0;
  private redisChild: ChildProcess | undefined;
  private readonly logs: WriteStream[] = [];
  readonly databaseUrl: string;
  private readonly scratch: ScratchDatabase;
  readonly temporalAddress: string;

  readonly database: string;

  private constructor(private readonly options: FleetOptions) {
    this.database = options.database ?? FLEET_DATABASE;
    if (!/^ripcord_[a-z_]+$/.test(this.database)) throw new Error(`not a fleet database name: ${this.database}`);
    const { DATABASE_URL, TEMPORAL_ADDRESS } = process.env;
    if (!DATABASE_URL || !TEMPORAL_ADDRESS) throw new Error('The fleet needs the stack: run it with `npm test` or `npm run bench:…` (DATABASE_URL, TEMPORAL_ADDRESS)');
    this.scratch = scratchDatabase(this.database);
    this.databaseUrl = this.scratch.appUrl;
    this.temporalAddress = TEMPORAL_ADDRESS;
    this.logDir = options.logDir ?? mkdtempSync(join(tmpdir(), 'ripcord-fleet-'));
  }

  static async start(options: FleetOptions = {}): Promise<Fleet> {
    const fleet = new Fleet(options);
    try {
      await fleet.boot();
    } catch (error) {
      await fleet.stop();
      throw error;
    }
    return fleet;
  }

  get redisUrl(): string {
    return `redis://127.0.0.1:${this.redisPort}/0`;
  }

  get url(): string {
    return this.lb.url;
  }

  get apis(): FleetProcess[] {
    return this.processes.filter((p) => p.kind === 'api');
  }

  get workers(): FleetProcess[] {
    return this.processes.filter((p) => p.kind === 'worker');
  }

  /** The proxy between a process and a dependency. */
  link(process: string, dependency: Dependency): FaultProxy {
    const proxy = this.proxies.get(`${process}->${dependency}`);
    if (!proxy) throw new Error(`no link ${process}->${dependency}`);
    return proxy;
  }

  /** Every process's link to a dependency (to take the dependency away for everyone). */
  linksTo(dependency: Dependency): FaultProxy[] {
    return [...this.proxies.entries()].filter(([name]) => name.endsWith(`->${dependency}`)).map(([, proxy]) => proxy);
  }

  private async boot(): Promise<void> {
    await this.createDatabase();
    this.redisPort = await freePort();
    await this.startRedis();
    const apis = this.options.apis ?? 3;
    const workers = this.options.workers ?? 2;
    const names = [...Array.from({ length: apis }, (_, i) => `api-${i}`), ...Array.from({ length: workers }, (_, i) => `worker-${i}`)];
    const temporal = new URL(`http://${this.temporalAddress}`);
    for (const name of names) {
      for (const dependency of DEPENDENCIES) {
        const target = dependency === 'redis' ? { host: '127.0.0.1', port: this.redisPort }
          : dependency === 'postgres' ? { host: new URL(this.databaseUrl).hostname, port: Number(new URL(this.databaseUrl).port || 5432) }
          : { host: temporal.hostname, port: Number(temporal.port) };
        const proxy = new FaultProxy(`${name}->${dependency}`, target);
        await proxy.start();
        this.proxies.set(proxy.name, proxy);
      }
    }
    // Workers first: the API's outbox relay and kills need someone to run workflows. They start in parallel.
    await Promise.all(Array.from({ length: workers }, (_, i) => this.startProcess(`worker-${i}`)));
    await Promise.all(Array.from({ length: apis }, (_, i) => this.startProcess(`api-${i}`)));
    for (const api of this.apis) this.lb.add(api.name, api.port);
    await this.lb.start();
    await until(async () => this.lb.backends.every((b) => b.ready), 'every API to be ready behind the load balancer', 60_000);
  }

  /** The fleet's database, migrated; the processes connect as the application role. */
  private createDatabase(): Promise<void> {
    return this.scratch.createMigrated();
  }

  /** Starts the fleet's redis-server (empty: no persistence) on its port. */
  async startRedis(): Promise<void> {
    const log = createWriteStream(join(this.logDir, 'redis.log'), { flags: 'a' });
    this.logs.push(log);
    const child = spawn('redis-server', ['--port', String(this.redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.logDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    this.redisChild = child;
    await until(() => new Promise<boolean>((resolve) => {
      const probe = connect(this.redisPort, '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    }), 'redis-server to listen', 10_000);
  }

  /** Kills the fleet's redis-server (SIGKILL, by pid): its data is gone. */
  async killRedis(): Promise<void> {
    const child = this.redisChild;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  private envFor(name: string): Record<string, string> {
    const link = (dependency: Dependency) => this.link(name, dependency).port;
    const database = new URL(this.databaseUrl);
    database.hostname = '127.0.0.1';
    database.port = String(link('postgres'));
    return {
      ...process.env as Record<string, string>,
      DATABASE_URL: database.toString(),
      REDIS_URL: `redis://127.0.0.1:${link('redis')}/0`,
      TEMPORAL_ADDRESS: `127.0.0.1:${link('temporal')}`,
      TEMPORAL_TASK_QUEUE: this.taskQueue,
      RIPCORD_ADMIN_TOKEN: FLEET_ADMIN_TOKEN,
      MAX_SNAPSHOT_LAG_SECONDS: String(this.options.maxLagSeconds ?? 1),
      LOG_LEVEL: this.options.logLevel ?? 'warn',
      ...this.options.env,
    };
  }

  /** Starts (or restarts) one process by name, `api-N` or `worker-N`, and waits until it serves. */
  async startProcess(name: string): Promise<FleetProcess> {
    const kind = name.startsWith('api-') ? 'api' : 'worker';
    const previous = this.processes.find((p) => p.name === name);
    const port = previous?.port ?? (kind === 'api' ? await freePort() : 0);
    const log = createWriteStream(join(this.logDir, `${name}.log`), { flags: 'a' });
    this.logs.push(log);
    const entry = kind === 'api' ? 'src/main/api.ts' : 'src/main/worker.ts';
    // tsx as a loader (not its CLI, which runs the program in a second process): the pid is the process's own.
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: root, env: { ...this.envFor(name), PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    const process_: FleetProcess = { name, kind, child, port };
    if (previous) this.processes.splice(this.processes.indexOf(previous), 1, process_);
    else this.processes.push(process_);
    const exited = () => (child.exitCode !== null || child.signalCode !== null ? `${name} exited (${child.exitCode ?? child.signalCode}); see ${this.logDir}/${name}.log` : undefined);
    if (kind === 'api') {
      await until(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, `${name} to be ready`, 90_000, exited);
    } else {
      // A worker is up once Temporal lists it as a poller of the task queue (it bundles the workflows first).
      await until(() => this.workerPolling(child.pid!), `${name} to poll its task queue`, 120_000, exited);
    }
    return process_;
  }

  /** Whether Temporal lists a poller with this pid on the fleet's task queue. */
  private async workerPolling(pid: number): Promise<boolean> {
    const { Connection, Client } = await import('@temporalio/client');
    const connection = await Connection.connect({ address: this.temporalAddress });
    try {
      const client = new Client({ connection });
      const answer = await client.workflowService.describeTaskQueue({
        namespace: 'default', taskQueue: { name: this.taskQueue }, taskQueueType: 2, // activity queue
      });
      return (answer.pollers ?? []).some((poller) => poller.identity?.startsWith(`${pid}@`));
    } finally {
      await connection.close();
    }
  }

  /** Kills a process by pid with a signal and waits for it to exit. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const target = this.processes.find((p) => p.name === name);
    if (!target || target.child.exitCode !== null || target.child.signalCode !== null) return;
    const exited = new Promise((resolve) => target.child.once('exit', resolve));
    target.child.kill(signal);
    await exited;
  }

  /** An admin request through the load balancer. */
  async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const response = await fetch(`${this.url}${path}`, {
      method, headers: { authorization: `Bearer ${FLEET_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: response.status, body: parsed };
  }

  /** A request straight to one API process (bypassing the load balancer). */
  async direct(name: string, path: string, init: RequestInit = {}): Promise<Response> {
    const target = this.processes.find((p) => p.name === name);
    if (!target) throw new Error(`no process ${name}`);
    return fetch(`http://127.0.0.1:${target.port}${path}`, {
      ...init, headers: { authorization: `Bearer ${FLEET_ADMIN_TOKEN}`, 'content-type': 'application/json', ...init.headers },
    });
  }

  /** Stops everything the fleet started (and only that). */
  async stop(): Promise<void> {
    await this.lb.stop().catch(() => undefined);
    await Promise.all(this.processes.map(async (p) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return;
      const exited = new Promise((resolve) => p.child.once('exit', resolve));
      p.child.kill('SIGTERM');
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }));
    await this.killRedis();
    for (const proxy of this.proxies.values()) await proxy.stop();
    for (const log of this.logs) log.end();
  }
}
