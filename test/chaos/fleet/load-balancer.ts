import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface Backend {
  name: string;
  port: number;
  /** In the balancer: its last /readyz probe said 200, or fewer than `failuresToRemove` in a row failed since. */
  ready: boolean;
  /** Failed probes in a row. */
  failures: number;
  /** When it last changed (ms since epoch). */
  changedAt: number;
}

/**
 * A small HTTP load balancer on 127.0.0.1, as a platform puts in front of API replicas: round robin
 * over the backends in it, all of them when none is (fail open, rather than refuse every request),
 * and one retry on another backend when a connection fails. A probe of `/readyz` every `probeMs`
 * that answers 200 puts a backend in; `failuresToRemove` failed probes in a row (an answer other
 * than 200, or none within `probeTimeoutMs`) take it out. One failed round is not enough, as with a
 * platform's health checks: on a starved machine every replica may miss one probe at once, and
 * failing open then would send traffic to a replica that is out for good reason (a partitioned one).
 */
export class LoadBalancer {
  readonly backends: Backend[] = [];
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private readonly probing = new Set<Backend>();
  private readonly agent = new Agent({ keepAlive: true });
  port = 0;

  constructor(private readonly options: { probeMs?: number; probeTimeoutMs?: number; failuresToRemove?: number } = {}) {}

  add(name: string, port: number): void {
    this.backends.push({ name, port, ready: false, failures: 0, changedAt: Date.now() });
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.route(req, res));
    this.server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    this.timer = setInterval(() => void this.probeAll(), this.options.probeMs ?? 200);
    await this.probeAll();
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  isReady(name: string): boolean {
    return this.backends.find((b) => b.name === name)?.ready ?? false;
  }

  private async probeAll(): Promise<void> {
    // One probe in flight per backend: a slow answer is one failure, not one per round it spans.
    await Promise.all(this.backends.filter((backend) => !this.probing.has(backend)).map(async (backend) => {
      this.probing.add(backend);
      const answered = await this.probe(backend.port).finally(() => this.probing.delete(backend));
      backend.failures = answered ? 0 : backend.failures + 1;
      const ready = answered || (backend.ready && backend.failures < (this.options.failuresToRemove ?? 2));
      if (ready !== backend.ready) {
        backend.ready = ready;
        backend.changedAt = Date.now();
      }
    }));
  }

  private probe(port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/readyz', agent: false, timeout: this.options.probeTimeoutMs ?? 2_000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  }

  private pick(exclude?: Backend): Backend | undefined {
    const ready = this.backends.filter((b) => b.ready && b !== exclude);
    const pool = ready.length > 0 ? ready : this.backends.filter((b) => b !== exclude);
    if (pool.length === 0) return undefined;
    return pool[this.next++ % pool.length];
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const first = this.pick();
      const send = (backend: Backend | undefined, retry: boolean) => {
        if (!backend) {
          res.writeHead(502).end();
          return;
        }
        const upstream = request({ host: '127.0.0.1', port: backend.port, method: req.method, path: req.url, headers: req.headers, agent: this.agent }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-backend': backend.name });
          answer.pipe(res);
          // A client that leaves (an SSE stream closed) takes its upstream connection with it.
          res.on('close', () => {
            if (!answer.complete) upstream.destroy();
          });
        });
        upstream.on('error', () => {
          if (res.headersSent) res.destroy();
          else if (retry) send(this.pick(backend), false);
          else res.writeHead(502).end();
        });
        upstream.end(body);
      };
      send(first, true);
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.agent.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
