import { requireAccess, writeMetaOf, type Caller } from '../auth/caller.js';
import type { CoveredSegmentWrite, SegmentEdit } from '../change-requests/change-request-segments.js';
import type { ChangeRequestService, GateOutcome } from '../change-requests/change-request-service.js';
import { writeUnlessRequested, type PolicyOutcome } from '../change-requests/policy-outcome.js';
import type { NewSegmentInput, presentSegment, SegmentService, SegmentUpdate } from './segment-service.js';

/** Which request made an edit (a change request records it): a field update, a member upload, a batch of members, a delete. */
export type SegmentEditSource = 'update' | 'replace_members' | 'members' | 'delete';

type Presented = ReturnType<typeof presentSegment>;

/**
 * Editing and deleting a segment, as every entry point asks for it (the HTTP routes, so the admin UI
 * and `ripcord flags apply`). Each command decides in one place the caller's right (segment:write, or
 * segment:delete; client and server tokens never have them), the change policies of the environments
 * where a live config targets the segment (a change request unless the caller bypasses them with the
 * right and a reason), then the version, the write, its projection and its one audit event through
 * the segment service. Creating a segment is never covered: nothing uses it yet.
 */
export function createSegmentCommands(deps: { segments: SegmentService; changeRequests?: ChangeRequestService }) {
  async function decide(caller: Caller, segmentKey: string, edit: SegmentEdit, source: SegmentEditSource, expectedVersion: number | undefined): Promise<GateOutcome> {
    requireAccess(caller, { resource: 'segment', action: edit.op === 'delete' ? 'delete' : 'write' });
    if (!deps.changeRequests) return { kind: 'none' };
    const write: CoveredSegmentWrite = { segmentKey, edit, source, expectedVersion, meta: writeMetaOf(caller), bypass: caller.bypass ?? false, subject: caller.subject };
    return deps.changeRequests.gateSegmentWrite(write);
  }

  return {
    /** Creates a rule or list segment (never covered by a policy: nothing targets it yet). */
    async create(caller: Caller, input: NewSegmentInput): Promise<Presented> {
      requireAccess(caller, { resource: 'segment', action: 'write' });
      return deps.segments.create(input, writeMetaOf(caller));
    },

    /** Changes name, description, conditions, or replaces every member (`source` replace_members for an upload). */
    async update(caller: Caller, command: { segmentKey: string; update: SegmentUpdate; expectedVersion?: number; source?: 'update' | 'replace_members' }): Promise<PolicyOutcome<Presented>> {
      const { segmentKey, update, expectedVersion } = command;
      const decided = await decide(caller, segmentKey, { op: 'update', update }, command.source ?? 'update', expectedVersion);
      return writeUnlessRequested(decided, (marks) => deps.segments.update(segmentKey, update, expectedVersion, writeMetaOf(caller, marks)));
    },

    /** Adds and removes members of a list segment in one change. */
    async changeMembers(caller: Caller, command: { segmentKey: string; add?: string[]; remove?: string[]; expectedVersion?: number }) {
      const { segmentKey, expectedVersion, ...change } = command;
      const decided = await decide(caller, segmentKey, { op: 'members', ...change }, 'members', expectedVersion);
      return writeUnlessRequested(decided, (marks) => deps.segments.changeMembers(segmentKey, change, expectedVersion, writeMetaOf(caller, marks)));
    },

    /** Deletes a segment no flag uses (409 naming the flags that do). */
    async delete(caller: Caller, command: { segmentKey: string; expectedVersion?: number }): Promise<PolicyOutcome<void>> {
      const decided = await decide(caller, command.segmentKey, { op: 'delete' }, 'delete', command.expectedVersion);
      return writeUnlessRequested(decided, (marks) => deps.segments.delete(command.segmentKey, command.expectedVersion, writeMetaOf(caller, marks)));
    },
  };
}

export type SegmentCommands = ReturnType<typeof createSegmentCommands>;
