import { touchedBy, type CredentialChange, type Principal } from '../auth/principal.js';

/** How long a refused stream should wait before trying again: streams end when their clients leave, not on a clock. */
export const STREAM_RETRY_AFTER_SECONDS = 30;

export interface StreamLimits {
  /** Concurrent streams one token (or one user's tokens) may hold in this process; 0: no limit. */
  perToken: number;
  /** Concurrent streams one client address may hold in this process; 0: no limit. */
  perAddress: number;
  /** The settings the limits come from, named in refusals (default: the SSE streams' own). */
  settings?: { perToken: string; perAddress: string };
}

interface OpenStream {
  tokenKey: string;
  address: string;
  principal: Principal | null;
  close(): void;
}

/**
 * The open SSE streams of this process: caps them per token and per client address (the stream is
 * the one route that holds a connection and a file descriptor for as long as the client likes), and
 * closes the streams of a token when it is revoked or its user changes.
 */
export class StreamRegistry {
  private readonly open = new Set<OpenStream>();
  private readonly byToken = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly limits: StreamLimits) {}

  /** Why a new stream is refused, or null when it fits. */
  refusal(tokenKey: string, address: string): string | null {
    if (this.limits.perToken > 0 && (this.byToken.get(tokenKey) ?? 0) >= this.limits.perToken) {
      return `This token already holds ${this.limits.perToken} open streams (${this.limits.settings?.perToken ?? 'MAX_STREAMS_PER_TOKEN'})`;
    }
    if (this.limits.perAddress > 0 && (this.byAddress.get(address) ?? 0) >= this.limits.perAddress) {
      return `This address already holds ${this.limits.perAddress} open streams (${this.limits.settings?.perAddress ?? 'MAX_STREAMS_PER_ADDRESS'})`;
    }
    return null;
  }

  /** Counts a stream until the returned function is called (when it closes). */
  add(tokenKey: string, address: string, principal: Principal | null, close: () => void): () => void {
    const stream: OpenStream = { tokenKey, address, principal, close };
    this.open.add(stream);
    this.byToken.set(tokenKey, (this.byToken.get(tokenKey) ?? 0) + 1);
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.open.delete(stream);
      decrement(this.byToken, tokenKey);
      decrement(this.byAddress, address);
    };
  }

  /** Ends the streams of the tokens and users a credential change touches; an unscoped change (a missed message) closes none. */
  closeTouched(change: CredentialChange | undefined): number {
    if (!change || (!change.tokenIds?.length && !change.userIds?.length)) return 0;
    let closed = 0;
    for (const stream of [...this.open]) {
      if (stream.principal && touchedBy(stream.principal, change)) {
        stream.close();
        closed += 1;
      }
    }
    return closed;
  }

  get size(): number {
    return this.open.size;
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left <= 0) counts.delete(key);
  else counts.set(key, left);
}
