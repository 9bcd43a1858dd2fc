import { useEffect, useSyncExternalStore } from 'react';
import type { Api } from './api.ts';
import { useSession } from './session.tsx';

/**
 * People, triggers and tokens by name where the API answers an actor id (`created_by`, `updated_by`,
 * `started_by`…): ids are gathered from every component that renders in the same moment and asked
 * for in one `GET /api/v1/names`; answers are kept for the page's life (names rarely change).
 */
const known = new Map<string, string | null>();
const wanted = new Set<string>();
const listeners = new Set<() => void>();
let version = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

const notify = () => {
  version++;
  for (const l of listeners) l();
};

function ask(api: Api, ids: readonly string[]): void {
  for (const id of ids) if (id && !known.has(id)) wanted.add(id);
  if (wanted.size === 0 || timer) return;
  timer = setTimeout(() => {
    timer = undefined;
    const batch = [...wanted].slice(0, 100);
    for (const id of batch) {
      wanted.delete(id);
      known.set(id, null);
    }
    api.get<{ names: Array<{ id: string; name: string }> }>(`/api/v1/names?ids=${encodeURIComponent(batch.join(','))}`)
      .then((answer) => {
        for (const n of answer.names) known.set(n.id, n.name);
      })
      .catch(() => undefined) // no right to read names (or offline): the words below stand in
      .finally(() => {
        notify();
        if (wanted.size > 0) ask(api, []);
      });
  }, 10);
}

/** Words for an id the API does not name: the bootstrap token, a trigger, Ripcord's own workflows. */
export function actorWords(id: string): string {
  if (id === 'bootstrap-admin') return 'the bootstrap admin token';
  if (id.startsWith('trigger:')) return 'an alert trigger';
  if (id.startsWith('token:')) return 'an API token';
  if (id === 'system' || id.startsWith('workflow') || id.endsWith('-workflow')) return 'Ripcord (automatic)';
  return id;
}

/** A function from actor id to name, for these ids (asked for once, re-rendering when the names arrive). */
export function useNames(ids: ReadonlyArray<string | null | undefined>): (id: string | null | undefined) => string {
  const { api } = useSession();
  const list = ids.filter((id): id is string => Boolean(id));
  const key = list.join(',');
  useEffect(() => ask(api, list), [api, key]);
  useSyncExternalStore((l) => {
    listeners.add(l);
    return () => listeners.delete(l);
  }, () => version);
  return (id) => (!id ? 'unknown' : known.get(id) ?? actorWords(id));
}

/** One actor, by name (the id on hover). */
export function ActorName({ id }: { id: string | null | undefined }) {
  const name = useNames([id]);
  return <span className="actor" title={id ?? undefined} data-actor={id ?? undefined}>{name(id)}</span>;
}
