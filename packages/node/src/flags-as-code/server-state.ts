import type { FlagType } from '../../../../src/domain/flag.js';
import type { ApiClient } from './api-client.js';
import { ApiError } from './api-client.js';
import { canonicalFlag, canonicalSegment, FORMAT, type FlagEntry, type FlagsFile, type SegmentEntry } from './flags-file.js';
import type { Progress } from './progress.js';

/** A flag as the server has it, in the file's canonical form, with the versions a write must match. */
export interface ServerFlag {
  entry: FlagEntry;
  /** The flag's identity version (name, description, tags): If-Match of PATCH, archive. */
  flagVersion: number;
  /** The config's version in the environment: If-Match of the config PUT. */
  configVersion: number;
  archived: boolean;
}

export interface ServerSegment {
  entry: SegmentEntry;
  version: number;
}

/** What the server holds for one environment: its live flags, and the segments asked for. */
export interface ServerState {
  environment: string;
  flags: Map<string, ServerFlag>;
  segments: Map<string, ServerSegment>;
}

const MEMBER_PAGE = 10_000;
const MAX_PAGES = 10_000;

/** Keys of the environment's live (not archived) flags, every page. */
async function liveFlagKeys(api: ApiClient, environment: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = new URLSearchParams({ environment, state: 'active', limit: '500' });
    if (cursor) query.set('cursor', cursor);
    const body = await api.get(`/api/v1/flags?${query}`);
    for (const flag of body.flags as Array<{ key: string }>) keys.push(flag.key);
    cursor = body.next_cursor;
    if (!cursor) return keys;
  }
  throw new ApiError(`more than ${MAX_PAGES} pages of flags`);
}

/** One flag in one environment, or undefined when the server has no such flag. */
export async function readFlag(api: ApiClient, key: string, environment: string): Promise<ServerFlag | undefined> {
  const answer = await api.request('GET', `/api/v1/flags/${encodeURIComponent(key)}`);
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new ApiError(`GET /api/v1/flags/${key} answered ${answer.status}`, answer.status);
  const flag = answer.body as { key: string; name: string; description: string; type: FlagType; tags: string[]; version: number; archived: boolean; environments: Record<string, Record<string, unknown> & { version: number }> };
  const config = flag.environments[environment];
  if (!config) throw new ApiError(`the server has no environment '${environment}'`, 404);
  return {
    entry: canonicalFlag({ ...flag, config: config as never }),
    flagVersion: flag.version,
    configVersion: config.version,
    archived: flag.archived,
  };
}

/** One segment with every member of a list segment, or undefined when there is none. */
export async function readSegment(api: ApiClient, key: string): Promise<ServerSegment | undefined> {
  const answer = await api.request('GET', `/api/v1/segments/${encodeURIComponent(key)}`);
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new ApiError(`GET /api/v1/segments/${key} answered ${answer.status}`, answer.status);
  const segment = answer.body as { key: string; kind: 'rule' | 'list'; name: string; description: string; conditions?: Array<{ field: string; operator: string; value?: unknown }>; version: number };
  let members: string[] | undefined;
  if (segment.kind === 'list') {
    members = [];
    let cursor: string | null = null;
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) throw new ApiError(`more than ${MAX_PAGES} pages of members in segment '${key}'`);
      const query = new URLSearchParams({ limit: String(MEMBER_PAGE) });
      if (cursor) query.set('cursor', cursor);
      const body = await api.get(`/api/v1/segments/${encodeURIComponent(key)}/members?${query}`);
      members.push(...(body.members as string[]));
      cursor = body.next_cursor;
      if (!cursor) break;
    }
  }
  return { entry: canonicalSegment({ ...segment, members }), version: segment.version };
}

/**
 * Reads the environment: every live flag (unless `onlyThese`), the segments they target, and
 * `alsoFlags` / `alsoSegments` (the file's keys, which may be archived on the server or missing from it).
 */
export async function readServerState(
  api: ApiClient,
  environment: string,
  options: { alsoFlags?: Iterable<string>; alsoSegments?: Iterable<string>; progress?: (total: number) => Progress; onlyThese?: boolean } = {},
): Promise<ServerState> {
  // onlyThese: just the given flags (an import never prunes, so the environment's other flags are not its business).
  const keys = new Set(options.onlyThese ? [] : await liveFlagKeys(api, environment));
  for (const key of options.alsoFlags ?? []) keys.add(key);
  const progress = options.progress?.(keys.size);
  const flags = new Map<string, ServerFlag>();
  for (const key of [...keys].sort()) {
    const flag = await readFlag(api, key, environment);
    if (flag) flags.set(key, flag);
    progress?.tick(key);
  }
  progress?.done();
  const segmentKeys = new Set(options.alsoSegments ?? []);
  for (const flag of flags.values()) {
    if (!flag.archived) for (const t of flag.entry.config.targeting ?? []) for (const s of t.segments) segmentKeys.add(s);
  }
  const segments = new Map<string, ServerSegment>();
  for (const key of [...segmentKeys].sort()) {
    const segment = await readSegment(api, key);
    if (segment) segments.set(key, segment);
  }
  return { environment, flags, segments };
}

/** The environment's live flags and the segments they target, as a flags file (export). */
export function fileOf(state: ServerState): FlagsFile {
  const flags = [...state.flags.values()].filter((f) => !f.archived).map((f) => f.entry);
  const used = new Set(flags.flatMap((f) => (f.config.targeting ?? []).flatMap((t) => t.segments)));
  const segments = [...state.segments.values()].filter((s) => used.has(s.entry.key)).map((s) => s.entry);
  return { format: FORMAT, environment: state.environment, segments, flags };
}
