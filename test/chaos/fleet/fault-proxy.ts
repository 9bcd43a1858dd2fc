import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** What a link does to traffic: pass it (optionally late), hold it (packets dropped, retransmitted after), or reset it. */
export type Fault = { kind: 'none' } | { kind: 'latency'; ms: number } | { kind: 'blackhole' } | { kind: 'reset' };

interface Pair {
  client: Socket;
  server: Socket;
}

/**
 * A TCP proxy for one link (one process → one dependency), on 127.0.0.1. Faults:
 * - `latency`: every chunk, both ways, is delivered `ms` later (order kept);
 * - `blackhole`: nothing moves and nothing is refused, as when packets are dropped: the bytes wait
 *   (as TCP retransmission would) and flow again on heal; new connections hang;
 * - `reset`: open connections are reset and new ones are reset on arrival (a dependency that is down).
 */
export class FaultProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<Pair>();
  private fault: Fault = { kind: 'none' };
  private readonly held = new Set<() => void>();
  port = 0;

  constructor(readonly name: string, private readonly target: { host: string; port: number }) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Changes the fault; healing (`none`) lets held bytes and connections through. */
  set(fault: Fault): void {
    this.fault = fault;
    if (fault.kind === 'reset') {
      for (const pair of this.pairs) this.destroy(pair);
    }
    if (fault.kind !== 'blackhole') {
      const waiting = [...this.held];
      this.held.clear();
      for (const release of waiting) release();
    }
  }

  heal(): void {
    this.set({ kind: 'none' });
  }

  private accept(client: Socket): void {
    if (this.fault.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (this.fault.kind === 'blackhole') {
      // The connection attempt hangs until healed (the SYN is "dropped"); data waits in the socket.
      client.pause();
      this.held.add(() => this.accept(client));
      client.once('close', () => undefined);
      return;
    }
    const server = createConnection(this.target);
    const pair = { client, server };
    this.pairs.add(pair);
    client.on('error', () => this.destroy(pair));
    server.on('error', () => this.destroy(pair));
    client.on('close', () => this.destroy(pair));
    server.on('close', () => this.destroy(pair));
    this.forward(client, server);
    this.forward(server, client);
  }

  /** Moves bytes from one socket to the other, in order, applying the fault at each chunk. */
  private forward(from: Socket, to: Socket): void {
    const queue: Array<{ chunk: Buffer; at: number }> = [];
    let draining = false;
    const drain = () => {
      if (draining) return;
      draining = true;
      const next = () => {
        const head = queue[0];
        if (!head || to.destroyed) {
          draining = false;
          return;
        }
        const fault = this.fault;
        if (fault.kind === 'blackhole') {
          this.held.add(next);
          return;
        }
        if (fault.kind === 'reset') {
          draining = false;
          return;
        }
        const send = () => {
          queue.shift();
          to.write(head.chunk);
          next();
        };
        // Latency is counted from each chunk's arrival, so chunks in flight overlap as on a real link.
        const wait = fault.kind === 'latency' ? head.at + fault.ms - Date.now() : 0;
        if (wait > 0) setTimeout(send, wait);
        else send();
      };
      next();
    };
    from.on('data', (chunk: Buffer) => {
      queue.push({ chunk, at: Date.now() });
      drain();
    });
    from.on('end', () => to.end());
  }

  private destroy(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    if (this.fault.kind === 'reset') {
      pair.client.resetAndDestroy();
      pair.server.resetAndDestroy();
    } else {
      pair.client.destroy();
      pair.server.destroy();
    }
  }

  async stop(): Promise<void> {
    this.heal();
    for (const pair of [...this.pairs]) this.destroy(pair);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
