import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import type { StreamTicket } from '../../src/protocol/admin-api.ts';
import type { ChangeEventData as ChangeEvent } from '../../src/protocol/definitions.ts';
import { useSession } from './session.tsx';

export type LiveStatus = 'connecting' | 'live' | 'disconnected';

/** A flag change from the stream, or `resync` after a reconnect (what happened meanwhile is unknown: reload). */
export type LiveEvent = { kind: 'change'; change: ChangeEvent } | { kind: 'resync' };

interface Live {
  status: LiveStatus;
  subscribe(listener: (event: LiveEvent) => void): () => void;
}

const LiveContext = createContext<Live>({ status: 'connecting', subscribe: () => () => undefined });
const CHANGE_EVENTS = ['flag.updated', 'flag.killed', 'flag.restored', 'flag.archived'];

/**
 * One event stream per tab for every environment: a single-use ticket from an authenticated POST,
 * then `EventSource(/api/v1/stream?ticket=…)` (the token never goes into a URL). On an error the
 * stream is closed and reopened with a fresh ticket after a growing pause; pages then reload.
 */
export function LiveProvider({ children }: { children: ReactNode }) {
  const { api, environments } = useSession();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const listeners = useRef(new Set<(event: LiveEvent) => void>());
  const [live] = useState<Omit<Live, 'status'>>(() => ({
    subscribe(listener) {
      listeners.current.add(listener);
      return () => listeners.current.delete(listener);
    },
  }));

  useEffect(() => {
    let source: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let failures = 0;
    let connectedBefore = false;
    const emit = (event: LiveEvent) => listeners.current.forEach((l) => l(event));

    const connect = async () => {
      if (stopped) return;
      try {
        const { ticket } = await api.request<StreamTicket>('POST', '/api/v1/stream/tickets', { body: { environments } });
        if (stopped) return;
        source = new EventSource(`/api/v1/stream?ticket=${encodeURIComponent(ticket)}`);
        let opened = false;
        source.addEventListener('ready', () => {
          if (opened) return;
          opened = true;
          failures = 0;
          setStatus('live');
          if (connectedBefore) emit({ kind: 'resync' });
          connectedBefore = true;
        });
        for (const name of CHANGE_EVENTS) {
          source.addEventListener(name, (message) => {
            try {
              emit({ kind: 'change', change: JSON.parse((message as MessageEvent<string>).data) as ChangeEvent });
            } catch {
              // a malformed event is ignored; the next resync repairs what it would have shown
            }
          });
        }
        // The ticket was single use: the browser's own retry would be refused, so reconnect with a new one.
        source.onerror = () => retry();
      } catch {
        retry();
      }
    };
    const retry = () => {
      source?.close();
      source = null;
      if (stopped) return;
      setStatus('disconnected');
      failures += 1;
      clearTimeout(timer);
      timer = setTimeout(() => void connect(), Math.min(10_000, 500 * 2 ** Math.min(failures, 5)));
    };
    void connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      source?.close();
    };
  }, [api, environments.join(',')]);

  return <LiveContext.Provider value={{ status, subscribe: live.subscribe }}>{children}</LiveContext.Provider>;
}

export function useLiveStatus(): LiveStatus {
  return useContext(LiveContext).status;
}

/** Calls `listener` for every change (and resync) while the component is mounted. */
export function useLiveEvents(listener: (event: LiveEvent) => void): void {
  const { subscribe } = useContext(LiveContext);
  const saved = useRef(listener);
  saved.current = listener;
  useEffect(() => subscribe((event) => saved.current(event)), [subscribe]);
}

/** The stream's state for people: live, or disconnected and reconnecting (pages may be stale then). */
export function LiveIndicator() {
  const status = useLiveStatus();
  return (
    <span className={`live live-${status}`} role="status" data-testid="live-status" data-status={status}>
      {status === 'live' ? '● Live' : status === 'connecting' ? 'Connecting…' : 'Disconnected — reconnecting; this page may be out of date'}
    </span>
  );
}
