import type { ApiAnswer, ApiClient } from './api-client.js';
import { errorText } from './api-client.js';
import type { FlagEntry, SegmentEntry } from './flags-file.js';
import type { FlagAction, Plan, SegmentAction } from './plan.js';
import type { Progress } from './progress.js';

/**
 * `ripcord flags apply`: executes a plan through the management API. Every write carries the version
 * the plan read (If-Match), so a change made on the server since then is reported (412), never
 * overwritten, and the reason given (which names the file and its SHA-256), so each write is one
 * audit event that says where it came from. A write an environment's change policy covers becomes
 * a change request (202), whose link is reported.
 *
 * A flag is applied whole or not at all: its config is written first, then its name, description
 * and tags; when the second write fails the first is undone (the previous config put back, or the
 * request withdrawn), and a flag created for the file is archived and deleted again when its config
 * is refused.
 */

export type OutcomeStatus = 'applied' | 'requested' | 'conflict' | 'failed' | 'skipped';

export interface Outcome {
  subject: string;
  status: OutcomeStatus;
  detail: string;
  /** Change requests' pages in the admin UI. */
  links: string[];
}

export interface ApplyOptions {
  /** The audit reason of every write, e.g. `ripcord flags apply flags.yaml sha256:…`. */
  reason: string;
  progress?: (total: number) => Progress;
}

const path = (key: string) => `/api/v1/flags/${encodeURIComponent(key)}`;
const segmentPath = (key: string) => `/api/v1/segments/${encodeURIComponent(key)}`;
/** JSON bodies are capped at 256 kB by the API; larger member lists go as text/plain. */
const INLINE_MEMBERS_BYTES = 200_000;

function requestLink(api: ApiClient, answer: ApiAnswer): string {
  return `${api.url}/change-requests/${encodeURIComponent(String(answer.body?.change_request?.id))}`;
}

function refused(what: string, answer: ApiAnswer): { status: OutcomeStatus; detail: string } {
  if (answer.status === 412) return { status: 'conflict', detail: `${what}: changed on the server since the plan read it; nothing was overwritten (plan again)` };
  return { status: 'failed', detail: `${what}: HTTP ${answer.status} ${errorText(answer)}` };
}

async function applySegment(api: ApiClient, action: SegmentAction, reason: string): Promise<Outcome> {
  const subject = `segment ${action.key}`;
  const entry: SegmentEntry = action.entry;
  if (action.kind === 'create') {
    const inline = entry.kind === 'rule' || JSON.stringify(entry.members).length <= INLINE_MEMBERS_BYTES;
    const body = entry.kind === 'list' && !inline ? { ...entry, members: [] } : entry;
    const created = await api.request('POST', '/api/v1/segments', { body: { ...body, reason } });
    if (created.status !== 201) return { subject, ...refused('create', created), links: [] };
    if (!inline && entry.kind === 'list') {
      const filled = await api.request('PUT', `${segmentPath(entry.key)}/members`, { body: { members: entry.members }, ifMatch: created.body.version, reason });
      if (filled.status !== 200 && filled.status !== 202) return { subject, ...refused('members', filled), links: [] };
    }
    return { subject, status: 'applied', detail: 'created', links: [] };
  }
  const { changes } = action;
  const membersChanged = changes.some((c) => c.path === 'members');
  const othersChanged = changes.some((c) => c.path !== 'members');
  let version = action.server.version;
  const links: string[] = [];
  if (othersChanged) {
    const update: Record<string, unknown> = { name: entry.name ?? '', description: entry.description ?? '', reason };
    if (entry.kind === 'rule') update.conditions = entry.conditions;
    const answer = await api.request('PUT', segmentPath(entry.key), { body: update, ifMatch: version });
    if (answer.status === 202) links.push(requestLink(api, answer));
    else if (answer.status !== 200) return { subject, ...refused('update', answer), links };
    else version = answer.body.version;
  }
  if (membersChanged && entry.kind === 'list') {
    if (links.length) return { subject, status: 'requested', detail: 'waits as a change request (members not sent: they follow once it applies)', links };
    const answer = await api.request('PUT', `${segmentPath(entry.key)}/members`, { body: { members: entry.members }, ifMatch: version, reason });
    if (answer.status === 202) links.push(requestLink(api, answer));
    else if (answer.status !== 200) return { subject, ...refused('members', answer), links };
  }
  return links.length ? { subject, status: 'requested', detail: 'waits as a change request', links } : { subject, status: 'applied', detail: 'updated', links };
}

/** Archives, then deletes, a flag this run created and could not configure. */
async function removeCreated(api: ApiClient, key: string, version: number, reason: string): Promise<string> {
  const archived = await api.request('POST', `${path(key)}/archive`, { body: { reason }, ifMatch: version });
  if (archived.status !== 200) return `; removing the flag created for it failed (HTTP ${archived.status}): delete it by hand`;
  const deleted = await api.request('DELETE', path(key), { body: { reason }, ifMatch: archived.body.version });
  return deleted.status === 204 ? '; the flag created for it was removed again' : `; the flag created for it is archived but not deleted (HTTP ${deleted.status})`;
}

async function createFlag(api: ApiClient, environment: string, entry: FlagEntry, reason: string): Promise<Outcome> {
  const subject = `flag ${entry.key}`;
  const created = await api.request('POST', '/api/v1/flags', {
    body: { key: entry.key, name: entry.name, description: entry.description, type: entry.type, tags: entry.tags, reason },
  });
  if (created.status !== 201) return { subject, ...refused('create', created), links: [] };
  const configVersion = created.body.environments?.[environment]?.version;
  const put = await api.request('PUT', `${path(entry.key)}/environments/${environment}`, { body: entry.config, ifMatch: configVersion, reason });
  if (put.status === 200) return { subject, status: 'applied', detail: 'created', links: [] };
  if (put.status === 202) return { subject, status: 'requested', detail: 'created (off); its config waits as a change request', links: [requestLink(api, put)] };
  const failure = refused('config', put);
  return { subject, status: failure.status, detail: failure.detail + (await removeCreated(api, entry.key, created.body.version, reason)), links: [] };
}

async function updateFlag(api: ApiClient, environment: string, action: Extract<FlagAction, { kind: 'update' }>, reason: string): Promise<Outcome> {
  const subject = `flag ${action.key}`;
  const { entry, server } = action;
  let undo: (() => Promise<string>) | undefined;
  const links: string[] = [];
  if (action.config.length) {
    const put = await api.request('PUT', `${path(action.key)}/environments/${environment}`, { body: entry.config, ifMatch: server.configVersion, reason });
    if (put.status === 202) {
      const link = requestLink(api, put);
      links.push(link);
      undo = async () => {
        const withdrawn = await api.request('POST', `/api/v1/change-requests/${encodeURIComponent(String(put.body.change_request.id))}/withdraw`, { body: { comment: reason } });
        return withdrawn.status === 200 ? '; its config request was withdrawn' : `; withdrawing its config request failed (HTTP ${withdrawn.status}): withdraw ${link} by hand`;
      };
    } else if (put.status === 200) {
      const written = put.body.version as number;
      undo = async () => {
        const back = await api.request('PUT', `${path(action.key)}/environments/${environment}`, { body: server.entry.config, ifMatch: written, reason: `${reason} (undo)` });
        return back.status === 200 ? '; its config was put back' : `; putting its config back failed (HTTP ${back.status} ${errorText(back)})`;
      };
    } else {
      return { subject, ...refused('config', put), links };
    }
  }
  if (action.identity.length) {
    const patch = await api.request('PATCH', path(action.key), {
      body: { name: entry.name, description: entry.description ?? '', tags: entry.tags ?? [], reason }, ifMatch: server.flagVersion,
    });
    if (patch.status !== 200) {
      const failure = refused('name, description or tags', patch);
      return { subject, status: failure.status, detail: failure.detail + (undo ? await undo() : ''), links: [] };
    }
  }
  return links.length
    ? { subject, status: 'requested', detail: action.identity.length ? 'name, description or tags updated; config waits as a change request' : 'config waits as a change request', links }
    : { subject, status: 'applied', detail: 'updated', links };
}

async function archiveFlag(api: ApiClient, action: Extract<FlagAction, { kind: 'archive' }>, reason: string): Promise<Outcome> {
  const subject = `flag ${action.key}`;
  const answer = await api.request('POST', `${path(action.key)}/archive`, { body: { reason }, ifMatch: action.server.flagVersion });
  return answer.status === 200 ? { subject, status: 'applied', detail: 'archived (--prune)', links: [] } : { subject, ...refused('archive', answer), links: [] };
}

/** Applies segments first (flags may target them), then flags; a flag whose segment failed is skipped. */
export async function applyPlan(api: ApiClient, plan: Plan, options: ApplyOptions): Promise<Outcome[]> {
  const progress = options.progress?.(plan.segments.length + plan.flags.length);
  const outcomes: Outcome[] = [];
  const failedSegments = new Set<string>();
  for (const action of plan.segments) {
    const outcome = await applySegment(api, action, options.reason);
    if (outcome.status === 'conflict' || outcome.status === 'failed') failedSegments.add(action.key);
    outcomes.push(outcome);
    progress?.tick(outcome.subject);
  }
  for (const action of plan.flags) {
    let outcome: Outcome;
    const missing = action.kind === 'archive' ? [] : (action.entry.config.targeting ?? []).flatMap((t) => t.segments).filter((s) => failedSegments.has(s));
    if (missing.length) outcome = { subject: `flag ${action.key}`, status: 'skipped', detail: `untouched: segment ${missing.join(', ')} was not applied`, links: [] };
    else if (action.kind === 'create') outcome = await createFlag(api, plan.environment, action.entry, options.reason);
    else if (action.kind === 'update') outcome = await updateFlag(api, plan.environment, action, options.reason);
    else outcome = await archiveFlag(api, action, options.reason);
    outcomes.push(outcome);
    progress?.tick(outcome.subject);
  }
  progress?.done();
  return outcomes;
}

/** The closing summary: counts by status, then each change that did not simply apply. */
export function summarise(outcomes: readonly Outcome[]): string[] {
  const count = (status: OutcomeStatus) => outcomes.filter((o) => o.status === status).length;
  const lines = [`Applied ${count('applied')}, requested ${count('requested')}, conflicts ${count('conflict')}, failed ${count('failed')}, skipped ${count('skipped')}.`];
  for (const o of outcomes) {
    if (o.status === 'applied') lines.push(`  ✓ ${o.subject}: ${o.detail}`);
    else lines.push(`  ${o.status === 'requested' ? '…' : '✗'} ${o.subject}: ${o.status}: ${o.detail}${o.links.length ? ` ${o.links.join(' ')}` : ''}`);
  }
  return lines;
}
